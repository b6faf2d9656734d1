"""Evidence photos: checked by content and size, kept with the session, shown only to the owner."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk.attachment.image import ImageRejectedError, inspect
from dropdesk.config import Settings
from dropdesk.ticket.models import Ticket
from tests.api.conftest import auth, open_session
from tests.api.factories import MERCHANT_B


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (11, 92, 173)) -> bytes:
    """A real, tiny PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))  # fmt: skip


JPEG = (
    b"\xff\xd8\xff\xe0"
    + struct.pack(">H", 16)
    + b"JFIF\x00"
    + bytes(9)
    + (b"\xff\xc0" + struct.pack(">HBHH", 17, 8, 480, 640) + bytes(10))
)
WEBP_LOSSLESS = (
    b"RIFF"
    + struct.pack("<I", 30)
    + b"WEBPVP8L"
    + struct.pack("<I", 10)
    + bytes([0x2F])
    + (((200 - 1) | ((100 - 1) << 14)).to_bytes(4, "little"))
    + bytes(5)
)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={"upload_dir": tmp_path / "uploads", "max_upload_bytes": 200_000}
    )


def upload(client: TestClient, settings: Settings, sid: str, data: bytes,
           name: str = "slip.png", merchant: str | None = None) -> Any:  # fmt: skip
    headers = auth(settings, merchant) if merchant else auth(settings)
    return client.post(f"/api/v1/sessions/{sid}/attachments",
                       files={"file": (name, data, "image/png")}, headers=headers)  # fmt: skip


def test_images_are_recognised_by_their_bytes() -> None:
    assert (inspect(png(4, 3)).content_type, inspect(png(4, 3)).width) == ("image/png", 4)
    jpeg = inspect(JPEG)
    assert (jpeg.content_type, jpeg.width, jpeg.height) == ("image/jpeg", 640, 480)
    webp = inspect(WEBP_LOSSLESS)
    assert (webp.content_type, webp.width, webp.height) == ("image/webp", 200, 100)
    for bad in (b"GIF89a" + bytes(20), b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.7"):
        with pytest.raises(ImageRejectedError):
            inspect(bad)
    with pytest.raises(ImageRejectedError, match="dimensions"):
        inspect(png(4, 3)[:16] + struct.pack(">II", 100_000, 100_000) + png()[24:])


def test_a_photo_joins_the_transcript_and_only_its_owner_sees_it(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    sid = open_session(client, settings)
    image = png()
    response = upload(client, settings, sid, image)
    assert response.status_code == 201, response.text
    message = response.json()
    assert message["sender"] == "merchant" and message["text"] == "[图片]"
    url = message["attachment"]
    assert url.startswith(f"/api/v1/sessions/{sid}/attachments/")
    history = client.get(f"/api/v1/sessions/{sid}/messages", headers=auth(settings)).json()
    assert history[-1]["attachment"] == url
    fetched = client.get(url, headers=auth(settings))
    assert fetched.status_code == 200 and fetched.content == image
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert client.get(url, headers=auth(settings, MERCHANT_B)).status_code == 404
    assert client.get(url).status_code == 401
    forged = {"Authorization": auth(settings)["Authorization"][:-3] + "abc"}
    assert client.get(url, headers=forged).status_code == 401
    other_sid = open_session(client, settings, MERCHANT_B)
    wrong_session = url.replace(sid, other_sid)
    assert client.get(wrong_session, headers=auth(settings, MERCHANT_B)).status_code == 404
    stored = list((settings.upload_dir / sid).iterdir())
    assert [p.read_bytes() for p in stored] == [image]


def test_refused_uploads_say_why_in_chinese(client: TestClient, settings: Settings) -> None:
    sid = open_session(client, settings)
    fake = upload(client, settings, sid, b"<html><script>alert(1)</script></html>", "slip.png")
    assert fake.status_code == 422 and "JPG、PNG 或 WebP" in fake.json()["error"]["message"]
    gif = upload(client, settings, sid, b"GIF89a" + bytes(64), "slip.gif")
    assert gif.status_code == 422
    too_big = upload(client, settings, sid, png(300, 300, (1, 2, 3)) + bytes(250_000))
    assert too_big.status_code == 413 and "图片太大" in too_big.json()["error"]["message"]
    huge = upload(client, settings, sid, bytes(2_000_000))
    assert huge.status_code == 413
    empty = upload(client, settings, sid, b"")
    assert empty.status_code == 422
    history = client.get(f"/api/v1/sessions/{sid}/messages", headers=auth(settings)).json()
    assert history == [] and not settings.upload_dir.exists()


def test_uploads_need_the_owning_merchant(client: TestClient, settings: Settings) -> None:
    sid = open_session(client, settings)
    assert upload(client, settings, sid, png(), merchant=MERCHANT_B).status_code == 404
    response = client.post(f"/api/v1/sessions/{sid}/attachments",
                           files={"file": ("a.png", png(), "image/png")})  # fmt: skip
    assert response.status_code == 401


def test_the_ticket_carries_the_photos(client: TestClient, settings: Settings,
                                       db_session: Session) -> None:  # fmt: skip
    sid = open_session(client, settings)
    url = upload(client, settings, sid, png()).json()["attachment"]
    internal = {"Authorization": f"Bearer {settings.internal_token}"}
    client.post(f"/internal/v1/sessions/{sid}/escalations", headers=internal,
                json={"reason": "merchant_request"})  # fmt: skip
    evidence = db_session.scalars(select(Ticket.evidence)).one()
    assert [a["url"] for a in evidence["attachments"]] == [url]
    assert evidence["attachments"][0]["content_type"] == "image/png"
