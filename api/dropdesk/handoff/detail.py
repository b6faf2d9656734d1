"""What an agent sees of a session: transcript, evidence, every diagnosis, ticket, notes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk.agent.models import Agent
from dropdesk.conversation import service as conversation_service
from dropdesk.conversation.models import Message, MessageRead
from dropdesk.handoff import service
from dropdesk.handoff.models import NoteRead, SessionDetail, TransitionRead
from dropdesk.merchant.models import Merchant
from dropdesk.ticket import service as ticket_service
from dropdesk.timezone import SHANGHAI
from dropdesk.wechat import service as wechat_service


def transcript(*, db_session: Session, session_id: str, after_id: int = 0) -> list[MessageRead]:
    """The transcript with agents' names on their messages."""
    rows = db_session.execute(
        select(Message, Agent.name)
        .outerjoin(Agent, Agent.id == Message.agent_id)
        .where(Message.session_id == session_id, Message.id > after_id)
        .order_by(Message.id)
    ).all()
    return [conversation_service.message_read(m, agent_name=name) for m, name in rows]


def session_detail(*, db_session: Session, session_id: str) -> SessionDetail:
    chat = conversation_service.get(db_session=db_session, session_id=session_id)
    merchant = db_session.get_one(Merchant, chat.merchant_id)
    ticket = ticket_service.latest_for_session(db_session=db_session, session_id=session_id)
    assignee = db_session.get(Agent, chat.assignee_id) if chat.assignee_id else None
    return SessionDetail(
        session=conversation_service.state(db_session=db_session, chat=chat),
        merchant={"merchant_no": merchant.merchant_no, "name": merchant.name},
        channel=chat.channel,
        assignee=assignee.name if assignee else None,
        transcript=transcript(db_session=db_session, session_id=session_id),
        notes=[
            NoteRead(id=n.id, agent=name, text=n.text, created_at=n.created_at.astimezone(SHANGHAI))
            for n, name in service.notes(db_session=db_session, session_id=session_id)
        ],
        diagnoses=conversation_service.diagnoses(db_session=db_session, session_id=session_id),
        ticket=ticket_service.ticket_read(db_session=db_session, ticket=ticket) if ticket else None,
        transitions=[
            TransitionRead(
                from_status=t.from_status,
                to_status=t.to_status,
                actor=t.actor,
                reason=t.reason,
                created_at=t.created_at.astimezone(SHANGHAI),
            )
            for t in service.transitions(db_session=db_session, session_id=session_id)
        ],
        unreachable=wechat_service.unreachable_text(db_session=db_session, chat=chat),
    )
