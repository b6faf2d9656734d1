"""Upload evidence photos into a chat session, and fetch them back (owner only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile, status
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from dropdesk.attachment import flows, service
from dropdesk.attachment.models import Attachment
from dropdesk.config import Settings
from dropdesk.conversation import service as conversation_service
from dropdesk.conversation.models import MessageRead
from dropdesk.conversation.views import turns
from dropdesk.deps import CurrentMerchantNo, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/sessions", tags=["attachments"])


@router.post(
    "/{session_id}/attachments", status_code=status.HTTP_201_CREATED, response_model=MessageRead
)
async def upload(
    session_id: str,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP photo of a slip or screen")],
    merchant_no: CurrentMerchantNo,
    settings: SettingsDep,
    request: Request,
) -> MessageRead:
    """Attach a photo to the session; it appears in the transcript as the merchant's message."""
    # One byte over the limit is enough to know the file is too big.
    data = await file.read(settings.max_upload_bytes + 1)
    return await flows.merchant_attaches(
        turns=turns(request),
        session_id=session_id,
        merchant_no=merchant_no,
        data=data,
        max_bytes=settings.max_upload_bytes,
        storage=settings.attachment_backend(),
    )


@router.get("/{session_id}/attachments/{attachment_id}", response_class=Response)
def fetch(
    session_id: str,
    attachment_id: int,
    merchant_no: CurrentMerchantNo,
    db_session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The image itself, for the merchant who owns the session; anyone else gets 404."""
    conversation_service.get_for_merchant(
        db_session=db_session, session_id=session_id, merchant_no=merchant_no
    )
    attachment = service.get_in_session(
        db_session=db_session, session_id=session_id, attachment_id=attachment_id
    )
    return photo_response(attachment, settings, db_session, cache_control="private, max-age=86400")


def photo_response(attachment: Attachment, settings: Settings, db_session: Session, *,
                   cache_control: str) -> Response:  # fmt: skip
    """Serve a stored photo as an image only: never sniffed, never run as a page."""
    headers = {
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    storage = settings.attachment_backend()
    if service.in_database(attachment):
        data = service.content_of(db_session=db_session, attachment=attachment, storage=storage)
        return Response(data, media_type=attachment.content_type, headers=headers)
    return FileResponse(
        service.path_of(attachment=attachment, upload_dir=storage[1]),
        media_type=attachment.content_type,
        headers=headers,
    )
