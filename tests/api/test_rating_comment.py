"""After a rating the merchant's next message is its comment: kept, thanked for, not the bot's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.config import Settings
from dropdesk.conversation.models import Message
from dropdesk.ticket import service as ticket_service
from dropdesk.ticket.models import COMMENT_WINDOW, Ticket, TicketEvent
from dropdesk.timezone import now_shanghai
from tests.api.conftest import auth
from tests.api.factories import MERCHANT_A
from tests.api.fake_rasa import FakeRasa
from tests.api.handoff_helpers import escalated_session, internal, make_agent
from tests.api.wechat_helpers import rig_with_merchants, wait_until

CARD = "6222021234567890128"


def resolved(http: Any, settings: Settings, sid: str, name: str = "alice") -> str:
    """Claim and resolve the session's ticket; return the payload of the 4-point button."""
    agent = {"Authorization": make_agent(settings, name)}
    assert http.post(f"/api/v1/agent/sessions/{sid}/claim", headers=agent).status_code == 200
    done = http.post(f"/api/v1/agent/sessions/{sid}/resolve", headers=agent,
                     json={"resolution": "explained", "note": "已说明"})  # fmt: skip
    assert done.status_code == 200, done.text
    return '/rate_service{"rating":"4"}'


def say(client: TestClient, settings: Settings, sid: str, text: str) -> list[str]:
    answer = client.post(f"/api/v1/sessions/{sid}/messages", json={"text": text},
                         headers=auth(settings))  # fmt: skip
    assert answer.status_code == 200, answer.text
    return [m["text"] for m in answer.json()["messages"]]


def heard(rasa: FakeRasa) -> list[str]:
    return [m["message"] for m in rasa.received]


def ticket_of(db_session: Session, sid: str) -> Ticket:
    db_session.expire_all()
    return db_session.scalars(select(Ticket).where(Ticket.session_id == sid)).one()


def test_the_message_after_a_rating_is_its_comment(
    client: TestClient, settings: Settings, rasa: tuple[FakeRasa, int], db_session: Session
) -> None:
    sid, _ = escalated_session(client, settings)
    payload = resolved(client, settings, sid)
    assert say(client, settings, sid, payload) == [messages.RATE_THANKS]
    assert "留言" in messages.RATE_THANKS

    asked_before = len(rasa[0].received)
    comment = f"师傅很耐心，卡号 {CARD} 的钱到了"
    assert say(client, settings, sid, comment) == [messages.RATE_COMMENT_THANKS]
    assert len(rasa[0].received) == asked_before  # the bot never hears the comment
    ticket = ticket_of(db_session, sid)
    assert ticket.rating == 4
    assert ticket.rating_comment == "师傅很耐心，卡号 622202******0128 的钱到了"
    stored = db_session.scalars(select(Message).where(Message.session_id == sid,
                                                      Message.sender == "merchant")
                                .order_by(Message.id.desc())).first()  # fmt: skip
    assert stored is not None and CARD not in stored.text and stored.delivery is None
    notes = db_session.scalars(select(TicketEvent.note).where(TicketEvent.ticket_id == ticket.id)
                               .order_by(TicketEvent.id)).all()  # fmt: skip
    assert notes[-2:] == ["rating 4", "comment"]

    # Only one comment: what follows is a new drop, for the bot.
    assert say(client, settings, sid, "又有一笔刷卡失败了") == ["heard: 又有一笔刷卡失败了"]
    assert heard(rasa[0])[-1] == "又有一笔刷卡失败了"
    assert ticket_of(db_session, sid).rating_comment == comment.replace(
        CARD, "622202******0128")


def test_after_the_window_the_next_message_is_the_bots(
    client: TestClient, settings: Settings, rasa: tuple[FakeRasa, int], db_session: Session
) -> None:
    sid, _ = escalated_session(client, settings)
    payload = resolved(client, settings, sid)
    rated_at = now_shanghai()
    turns = client.app.state.turns  # type: ignore[attr-defined]
    turns.clock = lambda: rated_at
    say(client, settings, sid, payload)
    turns.clock = lambda: rated_at + COMMENT_WINDOW + dt.timedelta(seconds=1)
    assert say(client, settings, sid, "刷卡失败了") == ["heard: 刷卡失败了"]
    assert ticket_of(db_session, sid).rating_comment is None


def test_a_second_tap_is_no_comment_and_the_comment_still_comes(
    client: TestClient, settings: Settings, rasa: tuple[FakeRasa, int], db_session: Session
) -> None:
    sid, _ = escalated_session(client, settings)
    payload = resolved(client, settings, sid)
    say(client, settings, sid, payload)
    assert say(client, settings, sid, payload) == [messages.NOTHING_TO_RATE]
    assert say(client, settings, sid, "很好") == [messages.RATE_COMMENT_THANKS]
    assert ticket_of(db_session, sid).rating_comment == "很好"


def test_without_a_rating_no_message_is_taken_as_a_comment(
    client: TestClient, settings: Settings, rasa: tuple[FakeRasa, int], db_session: Session
) -> None:
    sid, _ = escalated_session(client, settings)
    resolved(client, settings, sid)
    # The merchant ignores the buttons and reports a new drop: it goes to the bot.
    assert say(client, settings, sid, "还有一笔没到账") == ["heard: 还有一笔没到账"]
    assert ticket_of(db_session, sid).rating_comment is None


def test_two_comments_at_once_keep_one(client: TestClient, settings: Settings,
                                       db_session: Session) -> None:  # fmt: skip
    sid, _ = escalated_session(client, settings)
    say(client, settings, sid, resolved(client, settings, sid))
    now = now_shanghai()
    first = ticket_service.take_comment(db_session=db_session, session_id=sid, text="一",
                                        now=now, window=COMMENT_WINDOW)  # fmt: skip
    second = ticket_service.take_comment(db_session=db_session, session_id=sid, text="二",
                                         now=now, window=COMMENT_WINDOW)  # fmt: skip
    assert first is not None and second is None
    db_session.commit()
    assert ticket_of(db_session, sid).rating_comment == "一"


def test_the_widget_sees_the_thanks_live(client: TestClient, settings: Settings,
                                        db_session: Session) -> None:  # fmt: skip
    sid, _ = escalated_session(client, settings)
    payload = resolved(client, settings, sid)
    token = auth(settings)["Authorization"].removeprefix("Bearer ")
    with client.websocket_connect(f"/api/v1/sessions/{sid}/live") as ws:
        ws.send_json({"type": "auth", "token": token})
        assert ws.receive_json()["type"] == "ready"
        say(client, settings, sid, payload)
        say(client, settings, sid, "处理得很快")
        texts = []
        while messages.RATE_COMMENT_THANKS not in texts:
            frame = ws.receive_json()
            if frame.get("type") == "message":
                texts.append(frame["message"]["text"])
    assert texts == [payload, messages.RATE_THANKS, "处理得很快", messages.RATE_COMMENT_THANKS]
    assert ticket_of(db_session, sid).rating_comment == "处理得很快"


def test_wechat_rates_with_a_number_and_comments(settings: Settings, tmp_path: Path,
                                                 db_session: Session) -> None:  # fmt: skip
    with rig_with_merchants(settings, tmp_path, db_session) as rig:
        fan = rig.bound(MERCHANT_A)
        fan.text("转人工")
        sid = rig.session_of(fan.openid)
        assert sid is not None
        with httpx.Client(base_url=rig.base_url) as http:
            escalated = http.post(f"/internal/v1/sessions/{sid}/escalations",
                                  headers=internal(rig.settings),
                                  json={"reason": "merchant_request"})  # fmt: skip
            assert escalated.status_code == 200, escalated.text
            resolved(http, rig.settings, sid)
        wait_until(lambda: any("打个分" in t for t in rig.wechat.texts_to(fan.openid)))
        thanks = fan.text("4")
        assert thanks.text == messages.RATE_THANKS
        asked_before = len(rig.rasa.received)
        kept = fan.text("谢谢客服")
        assert kept.text == messages.RATE_COMMENT_THANKS
        assert len(rig.rasa.received) == asked_before
    assert ticket_of(db_session, sid).rating_comment == "谢谢客服"
    assert ticket_of(db_session, sid).rating == 4
