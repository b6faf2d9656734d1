"""A merchant sends a photo: keep it as evidence, post it in the transcript, publish it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.attachment import service
from dropdesk.conversation import service as conversation_service
from dropdesk.conversation.flows import Turns
from dropdesk.conversation.models import Message, MessageRead, Sender, SessionStatus
from dropdesk.handoff import service as handoff_service


async def merchant_attaches(
    *,
    turns: Turns,
    session_id: str,
    merchant_no: str,
    data: bytes,
    max_bytes: int,
    storage: service.Storage,
) -> MessageRead:
    """Check the image, store it with the session, and post a message that references it."""
    info = service.check(data=data, max_bytes=max_bytes)

    def store(db: Session) -> tuple[Message, str, str, int]:
        chat = conversation_service.get_for_merchant(
            db_session=db, session_id=session_id, merchant_no=merchant_no
        )
        attachment = service.store(
            db_session=db, chat=chat, data=data, info=info, storage=storage
        )
        message = conversation_service.add_message(
            db_session=db,
            chat=chat,
            sender=Sender.MERCHANT,
            text=messages.ATTACHMENT_MESSAGE,
            attachment_id=attachment.id,
        )
        handoff_service.merchant_waits(db_session=db, chat=chat, now=message.created_at)
        return message, chat.channel, chat.status, attachment.id

    message, chat_channel, chat_status, attachment_id = await turns.db(store)
    # Committed before publishing, so a viewer can fetch the image as soon as it hears of it.
    await turns.deliver(chat_channel, [message])
    if chat_status == SessionStatus.BOT and turns.on_photo is not None:
        # Read off the request path; the bot's answer about it follows live.
        turns.on_photo(session_id, merchant_no, chat_channel, attachment_id, message.id, data)
    return conversation_service.message_read(message)
