"""A photo sent while the bot holds the session is read off the request path; the bot then gets
a turn about it (`/photo_read` with the attachment's id), or the merchant is asked to type the
details. Real OCR workers, a fake Rasa that speaks the channel's contract, SQLite and PostgreSQL."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from dropdesk.config import Settings
from dropdesk.main import create_app
from dropdesk.slip import messages
from tests.api.conftest import auth, open_session
from tests.api.factories import row, store
from tests.api.fake_rasa import FakeRasa
from tests.slips.generate import cjk_font_path, generate

pytestmark = pytest.mark.skipif(
    cjk_font_path() is None, reason="no CJK font to draw slips: apt-get install fonts-wqy-microhei"
)


@pytest.fixture
def reading_client(settings: Settings, rasa: tuple[FakeRasa, int], db_session: Session
                   ) -> Iterator[TestClient]:  # fmt: skip
    store(db_session, row())
    settings = settings.model_copy(update={
        "rasa_url": f"http://127.0.0.1:{rasa[1]}", "rasa_timeout_seconds": 5.0,
        "read_photos": True,
    })  # fmt: skip
    with TestClient(create_app(settings)) as client:
        yield client


def _wait_for(predicate: Callable[[], Any], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := predicate():
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def _send(client: TestClient, settings: Settings, sid: str, data: bytes) -> int:
    sent = client.post(f"/api/v1/sessions/{sid}/attachments", headers=auth(settings),
                       files={"file": ("photo.jpg", data, "image/jpeg")})  # fmt: skip
    assert sent.status_code == 201, sent.text
    return int(sent.json()["attachment"].rsplit("/", 1)[1])


def _transcript(client: TestClient, settings: Settings, sid: str) -> list[tuple[str, str]]:
    listed = client.get(f"/api/v1/sessions/{sid}/messages", headers=auth(settings)).json()
    return [(m["sender"], m["text"]) for m in listed]


def test_a_slip_photo_is_read_and_the_bot_gets_a_turn_about_it(
    reading_client: TestClient, settings: Settings, rasa: tuple[FakeRasa, int]
) -> None:
    client, fake = reading_client, rasa[0]
    sid = open_session(client, settings)
    photo = generate(7, "slip", ("rotate", "jpeg"))
    attachment_id = _send(client, settings, sid, photo.image)
    heard = _wait_for(lambda: [m for m in fake.received if m["message"] == "/photo_read"])
    assert heard[0]["metadata"]["attachment_id"] == attachment_id
    assert heard[0]["sender"] == sid
    # The bot's answer about the photo reaches the transcript (and the live channel).
    _wait_for(lambda: ("bot", "heard: /photo_read") in _transcript(client, settings, sid))
    internal = {"Authorization": f"Bearer {settings.internal_token}"}
    reading = client.get(f"/internal/v1/sessions/{sid}/attachments/{attachment_id}/reading",
                         headers=internal).json()  # fmt: skip
    assert reading["status"] == "read"
    assert reading["fields"]["reference_no"] == photo.expected.reference_no
    assert reading["fields"]["amount"] == str(photo.expected.amount)
    # Only the session's own photos, only to the action server.
    other = open_session(client, settings)
    assert client.get(f"/internal/v1/sessions/{other}/attachments/{attachment_id}/reading",
                      headers=internal).status_code == 404  # fmt: skip
    assert client.get(f"/internal/v1/sessions/{sid}/attachments/{attachment_id}/reading",
                      headers=auth(settings)).status_code == 401  # fmt: skip


def test_a_photo_with_nothing_readable_asks_for_the_details_typed(
    reading_client: TestClient, settings: Settings, rasa: tuple[FakeRasa, int]
) -> None:
    client, fake = reading_client, rasa[0]
    sid = open_session(client, settings)
    blank = io.BytesIO()
    Image.new("RGB", (640, 480), "white").save(blank, "JPEG")
    _send(client, settings, sid, blank.getvalue())
    _wait_for(lambda: ("bot", messages.NOTHING_READ) in _transcript(client, settings, sid))
    assert not [m for m in fake.received if m["message"] == "/photo_read"]
