"""The action server asks what a photo in the chat shows (internal API)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dropdesk.config import Settings
from tests.api.conftest import auth, open_session
from tests.slips.generate import cjk_font_path, generate

pytestmark = pytest.mark.skipif(
    cjk_font_path() is None, reason="no CJK font to draw slips: apt-get install fonts-wqy-microhei"
)


def test_the_bot_reads_a_photo_the_merchant_sent(client: TestClient, settings: Settings) -> None:
    sid = open_session(client, settings)
    photo = generate(81, "screen", ())
    sent = client.post(f"/api/v1/sessions/{sid}/attachments", headers=auth(settings),
                       files={"file": ("screen.png", photo.image, "image/png")})  # fmt: skip
    assert sent.status_code == 201, sent.text
    attachment_id = sent.json()["attachment"].rsplit("/", 1)[1]
    url = f"/internal/v1/sessions/{sid}/attachments/{attachment_id}/read"
    internal = {"Authorization": f"Bearer {settings.internal_token}"}
    try:
        reading = client.post(url, headers=internal)
        assert reading.status_code == 200, reading.text
        body = reading.json()
        assert body["status"] == "read" and body["kind"] == "screen"
        assert body["fields"]["trace_no"] == photo.expected.trace_no
        assert body["fields"]["response_code"] == photo.expected.response_code
        assert body["message"].startswith("我从照片上看到：")
        assert client.post(url, headers=auth(settings)).status_code == 401
        other = open_session(client, settings)
        assert client.post(url.replace(sid, other), headers=internal).status_code == 404
    finally:
        reader = getattr(client.app.state, "slip_reader", None)  # type: ignore[attr-defined]
        if reader is not None:
            reader.close()
