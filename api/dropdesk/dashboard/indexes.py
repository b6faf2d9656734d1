"""The indexes the dashboard's aggregates read through (migrations 0008 and 0010 create them).

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
    # A period's conversations with what the figures read of them (all but updated_at, which
    # changes with every message: indexed, each of those updates would write every index).
    Index("ix_chat_session_period", ChatSession.created_at, ChatSession.id, ChatSession.channel,
          ChatSession.merchant_id, ChatSession.latest_diagnosis_id, ChatSession.escalated,
          ChatSession.amount_fen),
    # A period's diagnoses with the facts kept on them (migration 0010): the aggregate per
    # session and the join to each conversation's latest diagnosis read only the index.
    Index("ix_diagnosis_record_facts", DiagnosisRecord.created_at, DiagnosisRecord.session_id,
          DiagnosisRecord.id, DiagnosisRecord.code, DiagnosisRecord.merchant_turns,
          DiagnosisRecord.order_ref, DiagnosisRecord.amount_fen, DiagnosisRecord.terminal_no),
    # Tickets of a period: a range scan.
    Index("ix_ticket_created", Ticket.created_at),
    Index("ix_ticket_session", Ticket.session_id, Ticket.id),
    # Merchant turns before a diagnosis, counted as it is made (record_diagnosis): index-only.
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
