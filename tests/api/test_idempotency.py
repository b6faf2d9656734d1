"""An accepted merchant message is never lost and never processed twice.

Clients send an idempotency key (Idempotency-Key header or client_message_id); a retry with the
same key gets the first answer back, also while the first is still running, and Rasa hears the
message once. A turn slower than the service waits still finishes: the merchant is told the
answer is on its way, and the replies are stored and delivered live. SQLite and PostgreSQL
(the database_url fixture), over real HTTP against a fake Rasa that speaks Rasa's contract.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import null, select, update
from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.config import Settings
from dropdesk.conversation.models import ChatRequest, Message, RequestState
from dropdesk.main import create_app
from tests.api.conftest import auth, open_session
from tests.api.factories import MERCHANT_B, row, store
from tests.api.fake_rasa import FakeRasa, free_port, serve


@pytest.fixture
def service(
    settings: Settings, rasa: tuple[FakeRasa, int], db_session: Session
) -> Iterator[tuple[str, Settings]]:
    """The real service under uvicorn: the merchant's request waits 1 s for the bot."""
    store(db_session, row(), row(merchant_no=MERCHANT_B, terminal_no="T0000002"))
    settings = settings.model_copy(update={
        "rasa_url": f"http://127.0.0.1:{rasa[1]}", "rasa_timeout_seconds": 1.0,
        "rasa_turn_limit_seconds": 5.0,
    })  # fmt: skip
    with serve(create_app(settings), free_port()) as base_url:
        yield base_url, settings


def _open(base_url: str, settings: Settings, merchant_no: str | None = None) -> str:
    headers = auth(settings) if merchant_no is None else auth(settings, merchant_no)
    response = httpx.post(f"{base_url}/api/v1/sessions", headers=headers)
    assert response.status_code == 201
    return str(response.json()["session_id"])


def _say(base_url: str, settings: Settings, sid: str, text: str, key: str | None = None,
         field: bool = False) -> httpx.Response:  # fmt: skip
    headers = auth(settings)
    body: dict[str, Any] = {"text": text}
    if key is not None and field:
        body["client_message_id"] = key
    elif key is not None:
        headers["Idempotency-Key"] = key
    return httpx.post(f"{base_url}/api/v1/sessions/{sid}/messages", json=body, headers=headers,
                      timeout=30)  # fmt: skip


def _transcript(base_url: str, settings: Settings, sid: str) -> list[tuple[str, str, Any]]:
    listed = httpx.get(f"{base_url}/api/v1/sessions/{sid}/messages", headers=auth(settings))
    return [(m["sender"], m["text"], m["delivery"]) for m in listed.json()]


def _at_once(*calls: Callable[[], httpx.Response], stagger: float = 0.2) -> list[httpx.Response]:
    results: list[httpx.Response | None] = [None] * len(calls)

    def run(i: int, call: Callable[[], httpx.Response]) -> None:
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
        time.sleep(stagger)  # the retry arrives while the first is with the bot
    for thread in threads:
        thread.join()
    return [r for r in results if r is not None]


def _wait_for(predicate: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("field", [False, True], ids=["header", "client_message_id"])
def test_a_retry_with_the_same_key_returns_the_first_answer_and_runs_no_second_turn(
    service: tuple[str, Settings], rasa: tuple[FakeRasa, int], field: bool
) -> None:
    base_url, settings = service
    fake = rasa[0]
    sid = _open(base_url, settings)
    first = _say(base_url, settings, sid, "/slot amount=320.5", key="m-1", field=field)
    assert first.status_code == 200, first.text
    retry = _say(base_url, settings, sid, "/slot amount=320.5", key="m-1", field=field)
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert [m["message"] for m in fake.received] == ["/slot amount=320.5"]
    # A new key is a new message; the old key still answers what it answered first.
    _say(base_url, settings, sid, "/slot amount=99", key="m-2", field=field)
    again = _say(base_url, settings, sid, "/slot amount=320.5", key="m-1", field=field)
    assert again.json() == first.json()
    assert [m["message"] for m in fake.received] == ["/slot amount=320.5", "/slot amount=99"]
    assert [t for s, t, _ in _transcript(base_url, settings, sid) if s == "merchant"] == [
        "/slot amount=320.5", "/slot amount=99"]  # fmt: skip


def test_without_a_key_every_message_is_a_turn(
    service: tuple[str, Settings], rasa: tuple[FakeRasa, int]
) -> None:
    base_url, settings = service
    sid = _open(base_url, settings)
    _say(base_url, settings, sid, "在吗")
    _say(base_url, settings, sid, "在吗")
    assert [m["message"] for m in rasa[0].received] == ["在吗", "在吗"]


def test_a_retry_while_the_first_is_running_waits_for_the_first_answer(
    service: tuple[str, Settings], rasa: tuple[FakeRasa, int]
) -> None:
    base_url, settings = service
    fake = rasa[0]
    fake.delay = 0.7  # under the 1 s the request waits
    sid = _open(base_url, settings)
    first, retry, third = _at_once(
        *[lambda: _say(base_url, settings, sid, "顾客说扣了两次", key="k-42")] * 3
    )
    assert first.json()["messages"][0]["text"] == "heard: 顾客说扣了两次"
    assert retry.json() == first.json() and third.json() == first.json()
    assert len(fake.received) == 1
    assert _transcript(base_url, settings, sid) == [
        ("merchant", "顾客说扣了两次", "delivered"),
        ("bot", "heard: 顾客说扣了两次", None),
    ]


def test_keys_belong_to_their_session_and_merchant(
    service: tuple[str, Settings], rasa: tuple[FakeRasa, int]
) -> None:
    base_url, settings = service
    one, two = _open(base_url, settings), _open(base_url, settings)
    _say(base_url, settings, one, "第一句", key="same")
    other = _say(base_url, settings, two, "第二句", key="same")
    assert other.json()["messages"][0]["text"] == "heard: 第二句"  # another session: a new turn
    # Another merchant cannot reach a session (or its keys) that is not theirs.
    stranger = httpx.post(
        f"{base_url}/api/v1/sessions/{one}/messages",
        json={"text": "第一句"},
        headers=auth(settings, MERCHANT_B) | {"Idempotency-Key": "same"},
    )
    assert stranger.status_code == 404
    assert len(rasa[0].received) == 2


def test_a_key_must_be_short_plain_and_agree(
    service: tuple[str, Settings], rasa: tuple[FakeRasa, int]
) -> None:
    base_url, settings = service
    sid = _open(base_url, settings)
    assert _say(base_url, settings, sid, "hi", key="x" * 101).status_code == 422
    assert _say(base_url, settings, sid, "hi", key="a b").status_code == 422
    both = httpx.post(f"{base_url}/api/v1/sessions/{sid}/messages",
                      json={"text": "hi", "client_message_id": "a"},
                      headers=auth(settings) | {"Idempotency-Key": "b"})  # fmt: skip
    assert both.status_code == 422
    assert rasa[0].received == []


def test_a_turn_slower_than_the_wait_is_stored_and_delivered_live_and_never_resent(
    service: tuple[str, Settings], rasa: tuple[FakeRasa, int], db_session: Session
) -> None:
    base_url, settings = service
    fake = rasa[0]
    sid = _open(base_url, settings)
    fake.delay = 2.0  # over the 1 s the request waits, under the 5 s a turn may take
    began = time.monotonic()
    slow = _say(base_url, settings, sid, "刷卡显示失败", key="slow-1")
    assert slow.status_code == 200 and time.monotonic() - began < 1.8
    said = [m["text"] for m in slow.json()["messages"]]
    assert said == [messages.BOT_ON_ITS_WAY]
    assert "再发" not in said[0] and "不用重新发送" in said[0]
    # A retry meanwhile gets the same word, and the turn does not run again.
    assert _say(base_url, settings, sid, "刷卡显示失败", key="slow-1").json() == slow.json()

    def answered() -> bool:
        return ("bot", "heard: 刷卡显示失败", None) in _transcript(base_url, settings, sid)

    assert _wait_for(answered, timeout=5)
    assert _transcript(base_url, settings, sid) == [
        ("merchant", "刷卡显示失败", "delivered"),
        ("system", messages.BOT_ON_ITS_WAY, None),
        ("bot", "heard: 刷卡显示失败", None),
    ]
    # Once answered, a retry gets the bot's answer; Rasa heard the message once.
    late = _say(base_url, settings, sid, "刷卡显示失败", key="slow-1").json()
    assert [m["text"] for m in late["messages"]] == ["heard: 刷卡显示失败"]
    assert len(fake.received) == 1
    state = db_session.scalars(select(ChatRequest.state)).one()
    assert state == RequestState.DONE


def test_the_late_answer_reaches_the_widget_live(
    settings: Settings, rasa: tuple[FakeRasa, int], db_session: Session
) -> None:
    store(db_session, row())
    fake = rasa[0]
    settings = settings.model_copy(
        update={"rasa_url": f"http://127.0.0.1:{rasa[1]}", "rasa_timeout_seconds": 0.5}
    )
    with TestClient(create_app(settings)) as client:
        sid = open_session(client, settings)
        with client.websocket_connect(f"/api/v1/sessions/{sid}/live") as ws:
            ws.send_json({"type": "auth", "token": auth(settings)["Authorization"][7:]})
            assert ws.receive_json()["type"] == "ready"
            fake.delay = 1.5
            reply = client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "在吗"},
                                headers=auth(settings) | {"Idempotency-Key": "w-1"})  # fmt: skip
            assert [m["text"] for m in reply.json()["messages"]] == [messages.BOT_ON_ITS_WAY]
            seen: list[tuple[str, str]] = []
            while len(seen) < 3:
                frame = ws.receive_json()
                if frame["type"] == "message":
                    seen.append((frame["message"]["sender"], frame["message"]["text"]))
            assert seen == [("merchant", "在吗"), ("system", messages.BOT_ON_ITS_WAY),
                            ("bot", "heard: 在吗")]  # fmt: skip


def test_a_turn_past_the_limit_apologises_and_keeps_the_message(
    service: tuple[str, Settings], rasa: tuple[FakeRasa, int]
) -> None:
    base_url, settings = service
    rasa[0].delay = 6.0  # over the 5 s a turn may take: the bot is stuck
    sid = _open(base_url, settings)
    slow = _say(base_url, settings, sid, "在吗", key="stuck")
    assert [m["text"] for m in slow.json()["messages"]] == [messages.BOT_ON_ITS_WAY]

    def apologised() -> bool:
        return ("system", messages.BOT_UNAVAILABLE, None) in _transcript(base_url, settings, sid)

    assert _wait_for(apologised, timeout=8)
    assert _transcript(base_url, settings, sid)[0] == ("merchant", "在吗", "failed")
    retry = _say(base_url, settings, sid, "在吗", key="stuck").json()
    assert [m["text"] for m in retry["messages"]] == [messages.BOT_UNAVAILABLE]


def test_a_turn_whose_process_died_is_taken_over_by_the_retry_once(
    service: tuple[str, Settings], rasa: tuple[FakeRasa, int], db_session: Session
) -> None:
    base_url, settings = service
    fake = rasa[0]
    sid = _open(base_url, settings)
    _say(base_url, settings, sid, "第一句", key="died")
    # As if the process died mid-turn: stored and running, nothing heard for a long time.
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    db_session.execute(update(ChatRequest).values(state=RequestState.RUNNING, response=null(),
                                                  updated_at=long_ago))  # fmt: skip
    db_session.execute(update(Message).where(Message.sender == "bot").values(text="(lost)"))
    db_session.commit()
    fake.received.clear()
    first, second = _at_once(
        lambda: _say(base_url, settings, sid, "第一句", key="died"),
        lambda: _say(base_url, settings, sid, "第一句", key="died"),
        stagger=0.05,
    )
    assert first.json()["messages"][0]["text"] == "heard: 第一句"
    assert second.json() == first.json()
    assert [m["message"] for m in fake.received] == ["第一句"]  # taken over once
    # Sent as a resend of the same message: had Rasa finished the dead process's turn, it
    # answers with that turn instead of running it again.
    assert fake.received[0]["retry"] is True
    merchant = [t for s, t, _ in _transcript(base_url, settings, sid) if s == "merchant"]
    assert merchant == ["第一句"]  # the message was not stored twice


def test_a_failed_turn_is_tried_again_and_the_merchant_gets_the_answer(
    service: tuple[str, Settings], rasa: tuple[FakeRasa, int]
) -> None:
    """Rasa or the action server went away mid-turn (503: nothing kept): the service sends the
    message again, with backoff, and the merchant gets the bot's answer, not an apology."""
    base_url, settings = service
    fake = rasa[0]
    sid = _open(base_url, settings)
    fake.failures = 2
    reply = _say(base_url, settings, sid, "在吗")
    assert [m["text"] for m in reply.json()["messages"]] == ["heard: 在吗"]
    assert [m["message"] for m in fake.received] == ["在吗"] * 3
    assert len({m["message_id"] for m in fake.received}) == 1  # the same message each time
    assert [m.get("retry", False) for m in fake.received] == [False, True, True]
    assert _transcript(base_url, settings, sid) == [
        ("merchant", "在吗", "delivered"), ("bot", "heard: 在吗", None)
    ]


def test_a_bot_down_past_the_retries_apologises_and_keeps_the_message(
    settings: Settings, rasa: tuple[FakeRasa, int], db_session: Session
) -> None:
    """Nothing answers on Rasa's port for longer than the service tries: the merchant is told
    the message is kept and to send it again."""
    store(db_session, row())
    settings = settings.model_copy(update={
        "rasa_url": f"http://127.0.0.1:{free_port()}", "rasa_timeout_seconds": 5.0,
        "rasa_retry_seconds": 1.5,
    })  # fmt: skip
    with serve(create_app(settings), free_port()) as base_url:
        sid = _open(base_url, settings)
        started = time.monotonic()
        reply = _say(base_url, settings, sid, "在吗")
        took = time.monotonic() - started
        assert [m["text"] for m in reply.json()["messages"]] == [messages.BOT_UNAVAILABLE]
        assert 0.5 <= took < 5.0, took  # tried within the retry window, no longer
        assert _transcript(base_url, settings, sid)[0] == ("merchant", "在吗", "failed")


def test_answered_keys_are_forgotten_after_the_keep_time_running_ones_are_kept(
    settings: Settings, rasa: tuple[FakeRasa, int], db_session: Session
) -> None:
    """The app's sweeper deletes answered chat_request rows older than request_keep_hours; a
    recent key and a turn still running stay (a retry must still find them)."""
    store(db_session, row())
    settings = settings.model_copy(update={
        "rasa_url": f"http://127.0.0.1:{rasa[1]}", "sweep_interval_seconds": 0.1,
        "request_keep_hours": 48.0,
    })  # fmt: skip
    with serve(create_app(settings), free_port()) as base_url:
        sid = _open(base_url, settings)
        for key in ("old-done", "old-running", "recent"):
            assert _say(base_url, settings, sid, key, key=key).status_code == 200
        three_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        db_session.execute(update(ChatRequest).where(ChatRequest.client_key != "recent")
                           .values(updated_at=three_days_ago))  # fmt: skip
        db_session.execute(update(ChatRequest).where(ChatRequest.client_key == "old-running")
                           .values(state=RequestState.RUNNING))  # fmt: skip
        db_session.commit()
    # A fresh process: its sweeper purges at its first sweep.
    with serve(create_app(settings), free_port()):

        def keys() -> set[str]:
            db_session.expire_all()
            return set(db_session.scalars(select(ChatRequest.client_key)))

        assert _wait_for(lambda: "old-done" not in keys(), timeout=10)
        assert keys() == {"old-running", "recent"}
    merchant = [t for s, t, _ in _transcript_rows(db_session, sid) if s == "merchant"]
    assert merchant == ["old-done", "old-running", "recent"]  # the messages themselves stay


def _transcript_rows(db_session: Session, sid: str) -> list[tuple[str, str, Any]]:
    db_session.expire_all()
    rows = db_session.scalars(select(Message).where(Message.session_id == sid)
                              .order_by(Message.id))  # fmt: skip
    return [(m.sender, m.text, m.delivery) for m in rows]
