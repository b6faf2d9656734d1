"""Import every ORM model so the metadata is complete (Alembic, tests)."""

from dropdesk.agent.models import Agent
from dropdesk.attachment.models import Attachment
from dropdesk.conversation.models import ChatRequest, ChatSession, Message
from dropdesk.dashboard import indexes as _dashboard_indexes  # noqa: F401 - its indexes
from dropdesk.database.core import Base
from dropdesk.diagnosis.models import DiagnosisRecord
from dropdesk.handoff.models import SessionNote, SessionTransition
from dropdesk.merchant.models import Merchant
from dropdesk.terminal.models import Terminal
from dropdesk.ticket.models import Ticket, TicketCounter, TicketEvent
from dropdesk.transaction.models import SettlementBatch, Transaction
from dropdesk.wechat.models import AccessToken, BindCode, Follower, InboundClaim, Outbound

__all__ = [
    "AccessToken",
    "Agent",
    "Attachment",
    "Base",
    "BindCode",
    "ChatRequest",
    "ChatSession",
    "DiagnosisRecord",
    "Follower",
    "InboundClaim",
    "Merchant",
    "Message",
    "Outbound",
    "SessionNote",
    "SessionTransition",
    "SettlementBatch",
    "Terminal",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "Transaction",
]
