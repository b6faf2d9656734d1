"""Attachments: check, keep on disk under the upload folder, and find them for their owner."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.attachment.image import ImageInfo, ImageRejectedError, inspect
from dropdesk.attachment.models import Attachment, AttachmentRead
from dropdesk.conversation.models import ChatSession
from dropdesk.errors import InvalidInputError, NotFoundError, RequestTooLargeError


def attachment_url(session_id: str, attachment_id: int) -> str:
    """Where the owning merchant fetches an attachment (relative to the service)."""
    return f"/api/v1/sessions/{session_id}/attachments/{attachment_id}"


def check(*, data: bytes, max_bytes: int) -> ImageInfo:
    """Accept a JPEG, PNG or WebP up to max_bytes, judged by content, not by name."""
    if not data:
        raise InvalidInputError(messages.UPLOAD_EMPTY)
    if len(data) > max_bytes:
        raise RequestTooLargeError(messages.UPLOAD_TOO_LARGE.format(limit=_mib(max_bytes)))
    try:
        return inspect(data)
    except ImageRejectedError as exc:
        dimensions = str(exc) == "dimensions"
        text = messages.UPLOAD_BAD_DIMENSIONS if dimensions else messages.UPLOAD_BAD_TYPE
        raise InvalidInputError(text) from exc


def store(
    *, db_session: Session, chat: ChatSession, data: bytes, info: ImageInfo, upload_dir: Path
) -> Attachment:
    """Write the file, then record it against the session; no orphan file on failure."""
    key = f"{chat.id}/{uuid.uuid4().hex}.{info.extension}"
    path = upload_dir / key
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    os.replace(partial, path)
    try:
        attachment = Attachment(
            session_id=chat.id,
            merchant_id=chat.merchant_id,
            content_type=info.content_type,
            size_bytes=len(data),
            width=info.width,
            height=info.height,
            sha256=hashlib.sha256(data).hexdigest(),
            storage_key=key,
            created_at=dt.datetime.now(dt.UTC),
        )
        db_session.add(attachment)
        db_session.flush()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return attachment


def get_in_session(*, db_session: Session, session_id: str, attachment_id: int) -> Attachment:
    """Return an attachment of this session (the caller has checked who owns the session)."""
    attachment = db_session.get(Attachment, attachment_id)
    if attachment is None or attachment.session_id != session_id:
        raise NotFoundError("附件不存在")
    return attachment


def path_of(*, attachment: Attachment, upload_dir: Path) -> Path:
    """The file on disk; missing files read as not found."""
    path = (upload_dir / attachment.storage_key).resolve()
    if not path.is_relative_to(upload_dir.resolve()) or not path.is_file():
        raise NotFoundError("附件不存在")
    return path


def for_session(*, db_session: Session, session_id: str) -> list[Attachment]:
    """A session's attachments, oldest first."""
    return list(
        db_session.scalars(
            select(Attachment).where(Attachment.session_id == session_id).order_by(Attachment.id)
        )
    )


def read(attachment: Attachment) -> AttachmentRead:
    """Render an attachment for the API and the ticket evidence."""
    return AttachmentRead(
        id=attachment.id,
        url=attachment_url(attachment.session_id, attachment.id),
        content_type=attachment.content_type,
        size_bytes=attachment.size_bytes,
        width=attachment.width,
        height=attachment.height,
        sha256=attachment.sha256,
    )


def _mib(value: int) -> str:
    return f"{value / (1024 * 1024):g} MB"
