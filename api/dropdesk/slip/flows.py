"""A photo the merchant sends while the bot holds the session: read it, then the bot asks.

The reading runs off the request path (the upload has already been answered). What the reader
saw is kept on the attachment (one owner: the bot's actions ask the service for it). When it
found transaction details, the bot gets a turn about the photo (`/photo_read`, with the
attachment's id in the metadata) and confirms them with the merchant before using any of them;
when it found nothing, the merchant is asked to type the details.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from dropdesk.attachment.models import Attachment
from dropdesk.conversation import service as conversation_service
from dropdesk.conversation.flows import Turns
from dropdesk.conversation.models import Message, Sender, SessionStatus
from dropdesk.slip.models import ReadStatus, SlipReading
from dropdesk.slip.reader import SlipReader

log = logging.getLogger(__name__)
# What Rasa hears about a photo that shows transaction details (an intent payload).
PHOTO_READ = "/photo_read"


class PhotoReading:
    """One per service process: its reader's OCR workers load the models once."""

    def __init__(self, turns: Turns, reader: SlipReader | None = None) -> None:
        self.turns = turns
        self.reader = reader or SlipReader()

    def install(self) -> None:
        self.turns.on_photo = self.schedule

    def schedule(self, session_id: str, merchant_no: str, channel: str, attachment_id: int,
                 message_id: int, data: bytes) -> None:  # fmt: skip
        self.turns.in_background(
            self.read_and_ask(session_id, merchant_no, channel, attachment_id, message_id, data)
        )

    async def read_and_ask(self, session_id: str, merchant_no: str, channel: str,
                           attachment_id: int, message_id: int, data: bytes) -> None:  # fmt: skip
        try:
            reading = await self.reader.read(data)
        except Exception:  # the reader answers refusals itself; this is a bug or a crash
            log.exception("reading photo %s of session %s failed", attachment_id, session_id)
            return
        log.info("photo %s of session %s: %s (%s) in %.2fs", attachment_id, session_id,
                 reading.status, reading.kind, reading.seconds)  # fmt: skip

        def keep(db: Session) -> tuple[str, list[Message]]:
            attachment = db.get(Attachment, attachment_id)
            chat = conversation_service.get(db_session=db, session_id=session_id)
            if attachment is None or attachment.session_id != session_id:
                return "", []
            attachment.reading = reading.model_dump(mode="json")
            if chat.status != SessionStatus.BOT or reading.status == ReadStatus.READ:
                return chat.status, []
            said = conversation_service.add_message(
                db_session=db, chat=chat, sender=Sender.BOT, text=reading.message
            )
            return chat.status, [said]

        status, said = await self.turns.db(keep)
        if said:
            await self.turns.deliver(channel, said)
        if status == SessionStatus.BOT and reading.status == ReadStatus.READ:
            await self.turns.ask_bot_about(
                session_id=session_id,
                merchant_no=merchant_no,
                channel=channel,
                text=PHOTO_READ,
                inbound_id=message_id,
                metadata={"attachment_id": attachment_id},
            )

    def close(self) -> None:
        self.reader.close()


def stored_reading(db_session: Session, *, session_id: str, attachment_id: int
                   ) -> SlipReading | None:  # fmt: skip
    """What the reader saw on a photo of this session, or None if it has not been read."""
    attachment = db_session.get(Attachment, attachment_id)
    if attachment is None or attachment.session_id != session_id or attachment.reading is None:
        return None
    return SlipReading.model_validate(attachment.reading)
