"""Import every ORM model so the metadata is complete (Alembic, tests)."""

from dropdesk.database.core import Base
from dropdesk.merchant.models import Merchant
from dropdesk.terminal.models import Terminal
from dropdesk.transaction.models import SettlementBatch, Transaction

__all__ = ["Base", "Merchant", "SettlementBatch", "Terminal", "Transaction"]
