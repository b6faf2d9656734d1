"""Internal API: the action server asks what a photo in the session shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from dropdesk.attachment import service as attachment_service
from dropdesk.deps import InternalCaller, SessionDep, SettingsDep
from dropdesk.errors import NotFoundError
from dropdesk.slip import flows, messages
from dropdesk.slip.models import SlipReading
from dropdesk.slip.reader import SlipReader

router = APIRouter(prefix="/internal/v1/sessions", tags=["internal"])


def photo_bytes(session_id: str, attachment_id: int, _: InternalCaller, db_session: SessionDep,
                settings: SettingsDep) -> bytes:  # fmt: skip
    """The attachment's bytes (sync: FastAPI runs it on its threadpool, off the event loop)."""
    attachment = attachment_service.get_in_session(
        db_session=db_session, session_id=session_id, attachment_id=attachment_id
    )
    return attachment_service.content_of(
        db_session=db_session, attachment=attachment, storage=settings.attachment_backend()
    )


async def slip_reader(request: Request) -> SlipReader:
    """One reader per service process (its OCR workers load the models once)."""
    reader: SlipReader = request.app.state.slip_reader
    return reader


@router.post("/{session_id}/attachments/{attachment_id}/read", response_model=SlipReading)
async def read_photo(
    data: Annotated[bytes, Depends(photo_bytes)],
    reader: Annotated[SlipReader, Depends(slip_reader)],
) -> SlipReading:
    """What the photo shows, with the confirmation or the request to type the details."""
    return await reader.read(data)


@router.get("/{session_id}/attachments/{attachment_id}/reading", response_model=SlipReading)
def stored_reading(
    session_id: str, attachment_id: int, _: InternalCaller, db_session: SessionDep
) -> SlipReading:
    """What the reader saw on a photo of this session when it arrived (the bot confirms it)."""
    reading = flows.stored_reading(db_session, session_id=session_id, attachment_id=attachment_id)
    if reading is None:
        raise NotFoundError(messages.READING_NOT_FOUND)
    return reading
