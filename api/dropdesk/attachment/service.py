"""Attachments: check, keep (in the database or a folder), and find them for their owner.

Where new photos go is DROPDESK_ATTACHMENT_STORE (Settings.attachment_backend): the database
by default in production, so a photo uploaded through one replica is served by any other; a
folder otherwise. Reading follows each photo's own storage key, so photos kept before a switch
stay readable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.attachment.image import ImageInfo, ImageRejectedError, inspect
from dropdesk.attachment.models import Attachment, AttachmentBlob, AttachmentRead
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


# Where new attachments go: ("database", legacy folder) or ("file", folder).
Storage = tuple[Literal["database", "file"], Path]
DB_PREFIX = "db:"


def store(
    *, db_session: Session, chat: ChatSession, data: bytes, info: ImageInfo, storage: Storage
) -> Attachment:
    """Keep the bytes and record them against the session; nothing is left over on failure.

    In the database the bytes are written in the caller's transaction; in a folder the file is
    written first and removed if the record cannot be.
    """
    backend, folder = storage
    key = f"{chat.id}/{uuid.uuid4().hex}.{info.extension}"
    path: Path | None = None
    if backend == "database":
        key = DB_PREFIX + key
    else:
        path = folder / key
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
        if path is None:
            db_session.add(AttachmentBlob(attachment_id=attachment.id, data=data))
            db_session.flush()
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)
        raise
    return attachment


def get_in_session(*, db_session: Session, session_id: str, attachment_id: int) -> Attachment:
    """Return an attachment of this session (the caller has checked who owns the session)."""
    attachment = db_session.get(Attachment, attachment_id)
    if attachment is None or attachment.session_id != session_id:
        raise NotFoundError("附件不存在")
    return attachment


def in_database(attachment: Attachment) -> bool:
    """Whether an attachment's bytes are in attachment_blob rather than in a folder."""
    return attachment.storage_key.startswith(DB_PREFIX)


def path_of(*, attachment: Attachment, upload_dir: Path) -> Path:
    """The file on disk; missing files read as not found."""
    path = (upload_dir / attachment.storage_key).resolve()
    if not path.is_relative_to(upload_dir.resolve()) or not path.is_file():
        raise NotFoundError("附件不存在")
    return path


def content_of(*, db_session: Session, attachment: Attachment, storage: Storage) -> bytes:
    """An attachment's bytes, wherever they were kept; missing bytes read as not found."""
    if in_database(attachment):
        data = db_session.scalar(
            select(AttachmentBlob.data).where(AttachmentBlob.attachment_id == attachment.id)
        )
        if data is None:
            raise NotFoundError("附件不存在")
        return bytes(data)
    return path_of(attachment=attachment, upload_dir=storage[1]).read_bytes()


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
