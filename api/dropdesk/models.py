"""Import every ORM model so the metadata is complete (Alembic, tests)."""

from dropdesk.attachment.models import Attachment
from dropdesk.conversation.models import ChatSession, Message
from dropdesk.database.core import Base
from dropdesk.merchant.models import Merchant
from dropdesk.terminal.models import Terminal
from dropdesk.ticket.models import Ticket
from dropdesk.transaction.models import SettlementBatch, Transaction

__all__ = [
    "Attachment",
    "Base",
    "ChatSession",
    "Merchant",
    "Message",
    "SettlementBatch",
    "Terminal",
    "Ticket",
    "Transaction",
]
