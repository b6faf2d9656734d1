"""The indexes the dashboard's aggregates read through (migration 0008 creates them).

Declared here, beside the queries they serve, on the tables their domains own; dropdesk.models
imports this module so the metadata (and the migration check) is complete.
"""

from __future__ import annotations

from sqlalchemy import Index, text

from dropdesk.conversation.models import ChatSession, Message
from dropdesk.dashboard.facts import SOLVED_REPLY
from dropdesk.diagnosis.models import DiagnosisRecord
from dropdesk.handoff.models import SessionTransition
from dropdesk.ticket.models import Ticket

MERCHANT_SQL = "sender = 'merchant'"
SOLVED_SQL = f"sender = 'bot' AND text = '{SOLVED_REPLY}'"
TO_AGENT_SQL = "to_status = 'agent'"

INDEXES = (
    # Conversations, diagnoses and tickets of a period: a range scan each.
    Index("ix_chat_session_created", ChatSession.created_at),
    Index("ix_diagnosis_record_created", DiagnosisRecord.created_at),
    Index("ix_ticket_created", Ticket.created_at),
    Index("ix_ticket_session", Ticket.session_id, Ticket.id),
    # Merchant turns before a diagnosis: index-only, without the bot's and agents' messages.
    Index("ix_chat_message_merchant_turn", Message.session_id, Message.created_at,
          sqlite_where=text(MERCHANT_SQL), postgresql_where=text(MERCHANT_SQL)),
    # The bot's "solved" replies: a few rows among a million messages.
    Index("ix_chat_message_solved", Message.created_at, Message.session_id,
          sqlite_where=text(SOLVED_SQL), postgresql_where=text(SOLVED_SQL)),
    # When an agent joined a session after its escalation.
    Index("ix_session_transition_to_agent", SessionTransition.session_id,
          SessionTransition.created_at,
          sqlite_where=text(TO_AGENT_SQL), postgresql_where=text(TO_AGENT_SQL)),
)  # fmt: skip
