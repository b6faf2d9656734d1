"""The merchant-facing chat API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, status

from dropdesk import messages
from dropdesk.conversation import service
from dropdesk.conversation.flows import Turns
from dropdesk.conversation.models import (
    CLIENT_KEY_PATTERN,
    MessageCreate,
    MessageRead,
    SessionCreate,
    SessionCreated,
    SessionState,
    TurnRead,
)
from dropdesk.deps import CurrentMerchantNo, SessionDep, SettingsDep
from dropdesk.errors import InvalidInputError
from dropdesk.handoff import detail

router = APIRouter(prefix="/api/v1/sessions", tags=["chat"])


def turns(request: Request) -> Turns:
    runner: Turns = request.app.state.turns
    return runner


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SessionCreated)
def create_session(
    merchant_no: CurrentMerchantNo, db_session: SessionDep, body: SessionCreate | None = None
) -> SessionCreated:
    """Open a chat session for the merchant the token names."""
    chat = service.create(
        db_session=db_session, merchant_no=merchant_no, channel=(body or SessionCreate()).channel
    )
    return SessionCreated(session_id=chat.id)


@router.post("/{session_id}/messages", response_model=TurnRead)
async def send_message(
    session_id: str,
    body: MessageCreate,
    merchant_no: CurrentMerchantNo,
    settings: SettingsDep,
    request: Request,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", pattern=CLIENT_KEY_PATTERN)
    ] = None,
) -> TurnRead:
    """Take the merchant's message and return the bot's replies and the session state.

    A message sent with an `Idempotency-Key` header (or a `client_message_id`) is taken once:
    a retry with the same key returns the first answer and never runs the turn again.
    """
    text = body.text.strip()
    if not text:
        raise InvalidInputError(messages.MESSAGE_EMPTY)
    if len(text) > settings.max_message_chars:
        raise InvalidInputError(messages.MESSAGE_TOO_LONG.format(limit=settings.max_message_chars))
    if idempotency_key and body.client_message_id and idempotency_key != body.client_message_id:
        raise InvalidInputError(messages.IDEMPOTENCY_KEY_MISMATCH)
    return await turns(request).merchant_says(
        session_id=session_id,
        merchant_no=merchant_no,
        text=text,
        client_key=idempotency_key or body.client_message_id,
    )


@router.get("/{session_id}", response_model=SessionState)
def get_session(session_id: str, merchant_no: CurrentMerchantNo, db_session: SessionDep
                ) -> SessionState:  # fmt: skip
    """The session's status, gathered evidence and diagnosis."""
    chat = service.get_for_merchant(
        db_session=db_session, session_id=session_id, merchant_no=merchant_no
    )
    return service.state(db_session=db_session, chat=chat)


@router.get("/{session_id}/messages", response_model=list[MessageRead])
def list_messages(
    session_id: str, merchant_no: CurrentMerchantNo, db_session: SessionDep, after: int = 0
) -> list[MessageRead]:
    """The transcript, oldest first; `after` returns only newer messages."""
    service.get_for_merchant(db_session=db_session, session_id=session_id, merchant_no=merchant_no)
    # With the agent's name on an agent's message, as the live channel delivers it.
    return detail.transcript(db_session=db_session, session_id=session_id, after_id=after)
