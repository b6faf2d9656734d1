"""The chat API against a Rasa stand-in over real HTTP: storage, isolation, outages."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.config import Settings
from dropdesk.conversation.models import Message
from dropdesk.diagnosis.models import DiagnosisRecord
from dropdesk.main import create_app
from dropdesk.ticket.models import Ticket
from tests.api.conftest import auth, open_session
from tests.api.factories import CARD_1, MERCHANT_A, MERCHANT_B, row, store
from tests.api.fake_rasa import FakeRasa, free_port


def test_a_turn_is_stored_and_answered(client: TestClient, settings: Settings,
                                       rasa: tuple[FakeRasa, int]) -> None:  # fmt: skip
    sid = open_session(client, settings)
    response = client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "刷卡失败了"},
                           headers=auth(settings))  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert body["messages"] == [
        {"text": "heard: 刷卡失败了", "buttons": [{"title": "解决了", "payload": "/affirm"}]}
    ]
    assert body["session"]["status"] == "bot" and body["session"]["diagnosis"] is None
    heard = dict(rasa[0].received[0])
    assert str(heard.pop("message_id")).startswith("dd-")  # Rasa takes each message once
    assert heard == {"sender": sid, "message": "刷卡失败了",
                     "metadata": {"merchant_no": MERCHANT_A}}  # fmt: skip
    history = client.get(f"/api/v1/sessions/{sid}/messages", headers=auth(settings)).json()
    assert [(m["sender"], m["delivery"]) for m in history] == [
        ("merchant", "delivered"),
        ("bot", None),
    ]


def test_evidence_comes_from_the_bot_slots(client: TestClient, settings: Settings) -> None:
    sid = open_session(client, settings)
    for text in (
        "/slot order_ref=612300000001",
        "/slot amount=320.50",
        "/slot txn_time=2026-11-25T15:00:00+08:00/2026-11-25T15:59:59+08:00",
    ):
        client.post(f"/api/v1/sessions/{sid}/messages", json={"text": text},
                    headers=auth(settings))  # fmt: skip
    state = client.get(f"/api/v1/sessions/{sid}", headers=auth(settings)).json()
    assert state["evidence"] == {
        "order_ref": "612300000001",
        "amount": "320.50",
        "txn_time": {"start": "2026-11-25T15:00:00+08:00", "end": "2026-11-25T15:59:59+08:00"},
        "card_last4": None,
    }


def test_another_merchant_gets_404(client: TestClient, settings: Settings) -> None:
    sid = open_session(client, settings)
    other = auth(settings, MERCHANT_B)
    assert client.get(f"/api/v1/sessions/{sid}", headers=other).status_code == 404
    assert client.get(f"/api/v1/sessions/{sid}/messages", headers=other).status_code == 404
    sent = client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "hi"}, headers=other)
    assert sent.status_code == 404
    assert client.get(f"/api/v1/sessions/{sid}").status_code == 401
    forged = {"Authorization": "Bearer " + auth(settings)["Authorization"][7:-3] + "abc"}
    assert client.get(f"/api/v1/sessions/{sid}", headers=forged).status_code == 401


def test_text_limits(client: TestClient, settings: Settings) -> None:
    sid = open_session(client, settings)
    url = f"/api/v1/sessions/{sid}/messages"
    too_long = client.post(url, json={"text": "掉" * (settings.max_message_chars + 1)},
                           headers=auth(settings))  # fmt: skip
    assert too_long.status_code == 422 and "太长" in too_long.json()["error"]["message"]
    empty = client.post(url, json={"text": "   "}, headers=auth(settings))
    assert empty.status_code == 422
    huge = client.post(
        url,
        content=b'{"text": "' + b"a" * 200_000 + b'"}',
        headers={**auth(settings), "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    malformed = client.post(url, content=b"{not json", headers={
        **auth(settings), "Content-Type": "application/json"})  # fmt: skip
    assert malformed.status_code == 422


def test_card_numbers_typed_by_a_merchant_are_masked(
    client: TestClient, settings: Settings, db_session: Session, rasa: tuple[FakeRasa, int]
) -> None:
    sid = open_session(client, settings)
    client.post(f"/api/v1/sessions/{sid}/messages", json={"text": f"卡号{CARD_1}被扣了"},
                headers=auth(settings))  # fmt: skip
    texts = db_session.scalars(select(Message.text)).all()
    assert all(CARD_1 not in t for t in texts) and "622202******0128" in texts[0]
    assert CARD_1 not in str(rasa[0].received)


def test_a_slow_bot_answers_later_and_the_merchant_is_not_asked_to_resend(
    client: TestClient, settings: Settings, rasa: tuple[FakeRasa, int], db_session: Session
) -> None:
    fake, _port = rasa
    sid = open_session(client, settings)
    url = f"/api/v1/sessions/{sid}/messages"
    fake.delay = 1.5  # over the 1 s the request waits
    slow = client.post(url, json={"text": "第一句"}, headers=auth(settings)).json()
    assert [m["text"] for m in slow["messages"]] == [messages.BOT_ON_ITS_WAY]
    deadline = time.monotonic() + 5
    while "heard: 第一句" not in str(client.get(url, headers=auth(settings)).json()):
        assert time.monotonic() < deadline, "the late answer never came"
        time.sleep(0.05)
    fake.delay = 0
    ok = client.post(url, json={"text": "第二句"}, headers=auth(settings)).json()
    assert ok["messages"][0]["text"] == "heard: 第二句"
    history = client.get(url, headers=auth(settings)).json()
    assert [(m["sender"], m["text"], m["delivery"]) for m in history] == [
        ("merchant", "第一句", "delivered"),
        ("system", messages.BOT_ON_ITS_WAY, None),
        ("bot", "heard: 第一句", None),
        ("merchant", "第二句", "delivered"),
        ("bot", "heard: 第二句", None),
    ]
    assert [m["message"] for m in fake.received] == ["第一句", "第二句"]  # each heard once


def test_bot_not_running(settings: Settings, db_session: Session) -> None:
    store(db_session, row())
    # No retries here (test_idempotency.py has the retry window): the apology at once.
    settings = settings.model_copy(
        update={"rasa_url": f"http://127.0.0.1:{free_port()}", "rasa_retry_seconds": 0.0}
    )
    with TestClient(create_app(settings)) as client:
        sid = open_session(client, settings)
        reply = client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "在吗"},
                            headers=auth(settings)).json()  # fmt: skip
        assert "系统暂时繁忙" in reply["messages"][0]["text"]
        assert reply["session"]["status"] == "bot"


def test_internal_diagnosis_and_escalation(client: TestClient, settings: Settings,
                                           db_session: Session) -> None:  # fmt: skip
    store(db_session, row(ref_no="612300000450", terminal_status="timeout",
                          reversal_status="failed"))  # fmt: skip
    sid = open_session(client, settings)
    internal = {"Authorization": f"Bearer {settings.internal_token}"}
    assert client.post(f"/internal/v1/sessions/{sid}/diagnoses", json={}).status_code == 401
    result = client.post(
        f"/internal/v1/sessions/{sid}/diagnoses",
        headers=internal,
        json={"order_ref": "612300000450", "amount": "320.50"},
    ).json()
    assert result["code"] == "reversal_failed" and result["needs_human"]
    ticket = client.post(f"/internal/v1/sessions/{sid}/escalations", headers=internal,
                         json={"reason": "needs_human"}).json()  # fmt: skip
    assert re.fullmatch(r"DD-\d{8}-\d{4}", ticket["ticket_no"]) and ticket["status"] == "new"
    assert ticket["queue_position"] == 1 and ticket["priority"] == 1
    again = client.post(f"/internal/v1/sessions/{sid}/escalations", headers=internal,
                        json={"reason": "merchant_request"}).json()  # fmt: skip
    assert again["ticket_no"] == ticket["ticket_no"]
    state = client.get(f"/api/v1/sessions/{sid}", headers=auth(settings)).json()
    assert state["status"] == "queued" and state["escalated"]
    assert state["diagnosis"]["code"] == "reversal_failed"
    # The ticket points at the diagnosis it was escalated from, with the query that made it.
    record_query = db_session.scalars(select(DiagnosisRecord.query)).one()
    assert record_query["order_ref"] == "612300000450"
    assert state["ticket_no"] == ticket["ticket_no"]
    evidence = db_session.scalars(select(Ticket.evidence)).one()
    assert evidence["diagnosis"]["code"] == "reversal_failed"
    assert evidence["candidates"][0]["card_masked"] == "622202******0128"
    assert evidence["terminals"][0]["terminal_no"] == "T0000001"
    # Queued for a person: the bot no longer answers; the merchant hears where they stand.
    quiet = client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "还在吗"},
                        headers=auth(settings)).json()  # fmt: skip
    assert len(quiet["messages"]) == 1
    assert ticket["ticket_no"] in quiet["messages"][0]["text"]
    assert "第 1 位" in quiet["messages"][0]["text"] or "非工作时间" in quiet["messages"][0]["text"]
    terminals = client.get(f"/internal/v1/sessions/{sid}/terminals", headers=internal).json()
    assert terminals[0]["latest_software_version"] == settings.latest_terminal_software
    missing = client.post("/internal/v1/sessions/nope/diagnoses", headers=internal, json={})
    assert missing.status_code == 404
