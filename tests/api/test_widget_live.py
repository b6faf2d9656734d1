"""The widget's live channel: token in the first frame, only the owner's session, origins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from dropdesk.config import Settings
from dropdesk.widget import live
from tests.api.conftest import auth, open_session
from tests.api.factories import MERCHANT_A, MERCHANT_B
from tests.api.handoff_helpers import make_agent

EMBEDDER = "https://shop.example.com"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allowed_origins": [EMBEDDER]})


def token(settings: Settings, merchant_no: str = MERCHANT_A) -> str:
    return auth(settings, merchant_no)["Authorization"].removeprefix("Bearer ")


def closed_with(client: TestClient, sid: str, first: Any, origin: str | None = None) -> int:
    headers = {"origin": origin} if origin else {}
    with (
        client.websocket_connect(f"/api/v1/sessions/{sid}/live", headers=headers) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        if first is not None:
            ws.send_text(first) if isinstance(first, str) else ws.send_json(first)
        ws.receive_json()
    return closed.value.code


@pytest.fixture
def ready(client: TestClient, settings: Settings) -> Iterator[tuple[Any, str]]:
    sid = open_session(client, settings)
    with client.websocket_connect(f"/api/v1/sessions/{sid}/live") as ws:
        ws.send_json({"type": "auth", "token": token(settings)})
        frame = ws.receive_json()
        assert frame == {
            "type": "ready",
            "limits": {"message_chars": settings.max_message_chars,
                       "upload_bytes": settings.max_upload_bytes},
            "features": {"wechat_binding": False},
        }  # fmt: skip
        yield ws, sid


def test_every_stored_message_arrives_live(
    client: TestClient, settings: Settings, ready: tuple[Any, str]
) -> None:
    ws, sid = ready
    client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "刷卡失败了"},
                headers=auth(settings))  # fmt: skip
    first, second = ws.receive_json(), ws.receive_json()
    assert first["type"] == second["type"] == "message"
    assert (first["message"]["sender"], first["message"]["text"]) == ("merchant", "刷卡失败了")
    assert first["message"]["delivery"] == "pending"
    assert second["message"]["text"] == "heard: 刷卡失败了"
    assert second["message"]["buttons"] == [{"title": "解决了", "payload": "/affirm"}]
    assert second["message"]["id"] > first["message"]["id"]
    history = client.get(f"/api/v1/sessions/{sid}/messages?after={first['message']['id']}",
                         headers=auth(settings)).json()  # fmt: skip
    assert [m["id"] for m in history] == [second["message"]["id"]]


def test_a_session_hears_nothing_of_another(
    client: TestClient, settings: Settings, ready: tuple[Any, str]
) -> None:
    ws, _sid = ready
    other = open_session(client, settings, MERCHANT_B)
    client.post(f"/api/v1/sessions/{other}/messages", json={"text": "小李面馆的消息"},
                headers=auth(settings, MERCHANT_B))  # fmt: skip
    ws.send_json({"type": "ping"})
    assert ws.receive_json() == {"type": "pong"}  # nothing from the other session came first


def test_refusals_close_with_a_clear_code(client: TestClient, settings: Settings,
                                          db_session: Session) -> None:  # fmt: skip
    sid = open_session(client, settings)
    good = {"type": "auth", "token": token(settings)}
    assert closed_with(client, sid, {"type": "auth", "token": token(settings, MERCHANT_B)}) == 4404
    assert closed_with(client, "no-such-session", good) == 4404
    assert closed_with(client, sid, {"type": "auth", "token": token(settings)[:-3] + "abc"}) == 4401
    assert closed_with(client, sid, {"type": "hello"}) == 4400
    assert closed_with(client, sid, "not json") == 4400
    assert closed_with(client, sid, good, origin="https://evil.example.net") == 4403


def test_auth_must_come_quickly(client: TestClient, settings: Settings,
                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(live, "AUTH_TIMEOUT_SECONDS", 0.2)
    sid = open_session(client, settings)
    assert closed_with(client, sid, None) == 4408


@pytest.mark.parametrize("origin", [EMBEDDER, "http://testserver", None])
def test_allowed_and_same_origins_connect(client: TestClient, settings: Settings,
                                          origin: str | None) -> None:  # fmt: skip
    sid = open_session(client, settings)
    headers = {"origin": origin} if origin else {}
    with client.websocket_connect(f"/api/v1/sessions/{sid}/live", headers=headers) as ws:
        ws.send_json({"type": "auth", "token": token(settings)})
        assert ws.receive_json()["type"] == "ready"


def test_agent_messages_arrive_live_and_notes_never(
    client: TestClient, settings: Settings, ready: tuple[Any, str]
) -> None:
    ws, sid = ready
    client.post(f"/internal/v1/sessions/{sid}/escalations", json={"reason": "merchant_request"},
                headers={"Authorization": f"Bearer {settings.internal_token}"})  # fmt: skip
    alice = make_agent(settings, "alice")
    agent = {"Authorization": alice}
    assert client.post(f"/api/v1/agent/sessions/{sid}/claim", headers=agent).status_code == 200
    client.post(f"/api/v1/agent/sessions/{sid}/notes", json={"text": "NOTE-SECRET"}, headers=agent)
    client.post(f"/api/v1/agent/sessions/{sid}/messages", json={"text": "您好"}, headers=agent)
    ws.send_json({"type": "ping"})
    frames = []
    while (frame := ws.receive_json()) != {"type": "pong"}:
        frames.append(frame)
    assert not any("NOTE-SECRET" in json.dumps(f, ensure_ascii=False) for f in frames)
    joined = [f for f in frames if f["type"] == "status"]
    assert [(f["status"], f.get("agent")) for f in joined] == [("agent", "alice")]
    said = [f["message"] for f in frames if f["type"] == "message"]
    assert said[-1]["sender"] == "agent" and said[-1]["text"] == "您好"
    assert said[-1]["agent"] == "alice"
    assert any(m["sender"] == "system" and "已接入" in m["text"] for m in said)
