"""Human takeover through the agent API: who speaks is decided by the database alone."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dropdesk.agent.models import AgentRole
from dropdesk.config import Settings
from dropdesk.database.core import session_scope
from dropdesk.handoff import service as handoff_service
from dropdesk.handoff.models import SessionTransition
from dropdesk.main import create_app
from dropdesk.ticket.models import Ticket, TicketEvent, TicketStatus
from dropdesk.timezone import SHANGHAI
from tests.api.conftest import auth, open_session
from tests.api.factories import MERCHANT_A, MERCHANT_B, row, store
from tests.api.fake_rasa import FakeRasa, free_port, serve
from tests.api.handoff_helpers import escalated_session, internal, make_agent


def agent_api(client: TestClient, token: str, method: str, path: str, **kwargs: object
              ) -> httpx.Response:  # fmt: skip
    response: httpx.Response = client.request(
        method,
        f"/api/v1/agent{path}",
        headers={"Authorization": token},
        **kwargs,  # type: ignore[arg-type]
    )
    return response


def merchant_messages(client: TestClient, settings: Settings, sid: str,
                      merchant: str = MERCHANT_A) -> list[dict[str, object]]:  # fmt: skip
    got = client.get(f"/api/v1/sessions/{sid}/messages", headers=auth(settings, merchant))
    assert got.status_code == 200
    return list(got.json())


def test_claim_chat_note_handback(client: TestClient, settings: Settings,
                                  rasa: tuple[FakeRasa, int]) -> None:  # fmt: skip
    alice = make_agent(settings, "alice")
    sid, ticket = escalated_session(client, settings)
    queue = agent_api(client, alice, "GET", "/queue").json()
    assert [(q["session_id"], q["ticket_no"], q["status"]) for q in queue] == [
        (sid, ticket["ticket_no"], "queued")
    ]
    assert queue[0]["waiting_seconds"] >= 0 and queue[0]["merchant_no"] == MERCHANT_A

    claimed = agent_api(client, alice, "POST", f"/sessions/{sid}/claim")
    assert claimed.status_code == 200 and claimed.json()["ticket_status"] == "assigned"
    said = agent_api(
        client, alice, "POST", f"/sessions/{sid}/messages", json={"text": "您好，我来看"}
    )
    assert said.status_code == 200
    assert said.json()["sender"] == "agent" and said.json()["agent"] == "alice"
    note = agent_api(
        client,
        alice,
        "POST",
        f"/sessions/{sid}/notes",
        json={"text": "疑似单边账 NOTE-X 卡 6222021234567890128"},
    )
    assert note.status_code == 200

    # The merchant writes to the agent: the bot is not asked.
    asked_before = len(rasa[0].received)
    quiet = client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "好的谢谢"},
                        headers=auth(settings)).json()  # fmt: skip
    assert quiet["messages"] == [] and quiet["session"]["status"] == "agent"
    assert len(rasa[0].received) == asked_before

    transcript = merchant_messages(client, settings, sid)
    texts = [str(m["text"]) for m in transcript]
    assert any("alice" in t and "已接入" in t for t in texts)
    assert "您好，我来看" in texts and not any("NOTE-X" in t for t in texts)

    detail = agent_api(client, alice, "GET", f"/sessions/{sid}").json()
    # Card numbers are masked on the way in, whatever the agent typed.
    assert [n["text"] for n in detail["notes"]] == ["疑似单边账 NOTE-X 卡 622202******0128"]
    assert detail["ticket"]["first_response_at"] is not None
    assert [(t["from_status"], t["to_status"]) for t in detail["transitions"]] == [
        ("bot", "queued"), ("queued", "agent")
    ]  # fmt: skip

    back = agent_api(client, alice, "POST", f"/sessions/{sid}/handback")
    assert back.status_code == 200 and back.json()["status"] == "bot"
    # Rasa's tracker was restarted through its HTTP API, with the token.
    assert rasa[0].resets == [(sid, [{"event": "restart"}])]
    # The bot greeted again, and answers the next message.
    assert rasa[0].received[-1]["message"] == "/greet"
    answer = client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "还有一笔"},
                         headers=auth(settings)).json()  # fmt: skip
    assert answer["messages"][0]["text"] == "heard: 还有一笔"
    assert answer["session"]["ticket_status"] == "waiting_merchant"


def test_a_second_escalation_requeues_the_same_ticket(client: TestClient, settings: Settings
                                                      ) -> None:  # fmt: skip
    alice = make_agent(settings, "alice")
    sid, first = escalated_session(client, settings)
    agent_api(client, alice, "POST", f"/sessions/{sid}/claim")
    agent_api(client, alice, "POST", f"/sessions/{sid}/handback")
    again = client.post(f"/internal/v1/sessions/{sid}/escalations", headers=internal(settings),
                        json={"reason": "not_solved"}).json()  # fmt: skip
    assert again["ticket_no"] == first["ticket_no"] and again["status"] == "new"
    state = client.get(f"/api/v1/sessions/{sid}", headers=auth(settings)).json()
    assert state["status"] == "queued" and state["queue_position"] == 1


def test_resolve_asks_for_a_rating_and_stores_it(client: TestClient, settings: Settings,
                                                 db_session: Session) -> None:  # fmt: skip
    alice = make_agent(settings, "alice")
    sid, ticket = escalated_session(client, settings)
    agent_api(client, alice, "POST", f"/sessions/{sid}/claim")
    bad = agent_api(client, alice, "POST", f"/sessions/{sid}/resolve",
                    json={"resolution": "magic", "note": ""})  # fmt: skip
    assert bad.status_code == 422
    done = agent_api(
        client,
        alice,
        "POST",
        f"/sessions/{sid}/resolve",
        json={"resolution": "transaction_confirmed", "note": "已核实交易成功"},
    )
    assert done.status_code == 200 and done.json()["ticket_status"] == "resolved"
    prompt = merchant_messages(client, settings, sid)[-1]
    assert "打个分" in str(prompt["text"])
    buttons = prompt["buttons"]
    assert isinstance(buttons, list) and len(buttons) == 5
    payload = buttons[3]["payload"]  # 4分
    thanks = client.post(f"/api/v1/sessions/{sid}/messages", json={"text": payload},
                         headers=auth(settings)).json()  # fmt: skip
    assert "谢谢" in thanks["messages"][0]["text"]
    stored = db_session.scalars(select(Ticket).where(Ticket.ticket_no == ticket["ticket_no"])).one()
    assert (stored.status, stored.rating, stored.resolution) == (
        "closed",
        4,
        "transaction_confirmed",
    )
    statuses = db_session.scalars(
        select(TicketEvent.to_status)
        .where(TicketEvent.ticket_id == stored.id)
        .order_by(TicketEvent.id)
    ).all()
    assert statuses == ["new", "assigned", "resolved", "closed"]
    again = client.post(f"/api/v1/sessions/{sid}/messages", json={"text": payload},
                        headers=auth(settings)).json()  # fmt: skip
    assert "没有需要评价" in again["messages"][0]["text"]


def test_only_the_holder_or_a_supervisor_acts(client: TestClient, settings: Settings) -> None:
    alice, bob = make_agent(settings, "alice"), make_agent(settings, "bob")
    boss = make_agent(settings, "boss", AgentRole.SUPERVISOR)
    sid, _ = escalated_session(client, settings)
    assert agent_api(client, alice, "POST", f"/sessions/{sid}/claim").status_code == 200
    assert agent_api(client, bob, "POST", f"/sessions/{sid}/claim").status_code == 409
    said = agent_api(client, bob, "POST", f"/sessions/{sid}/messages", json={"text": "抢答"})
    assert said.status_code == 409
    assert agent_api(client, bob, "POST", f"/sessions/{sid}/handback").status_code == 409
    assert agent_api(client, bob, "POST", f"/sessions/{sid}/reassign",
                     json={"agent": "bob"}).status_code == 403  # fmt: skip
    moved = agent_api(client, boss, "POST", f"/sessions/{sid}/reassign", json={"agent": "bob"})
    assert moved.status_code == 200 and moved.json()["assignee"] == "bob"
    assert agent_api(client, bob, "POST", f"/sessions/{sid}/messages",
                     json={"text": "我来接手"}).status_code == 200  # fmt: skip
    released = agent_api(client, bob, "POST", f"/sessions/{sid}/release")
    assert released.status_code == 200 and released.json()["status"] == "queued"
    assert "重新排队" in str(merchant_messages(client, settings, sid)[-1]["text"])


def test_tokens_do_not_cross(client: TestClient, settings: Settings) -> None:
    alice = make_agent(settings, "alice")
    sid, _ = escalated_session(client, settings)
    merchant = auth(settings)["Authorization"]
    for method, path in (("GET", "/queue"), ("GET", f"/sessions/{sid}"),
                         ("POST", f"/sessions/{sid}/claim"), ("POST", f"/sessions/{sid}/handback"),
                         ("POST", f"/sessions/{sid}/release")):  # fmt: skip
        assert agent_api(client, merchant, method, path).status_code == 401
        assert agent_api(client, "Bearer dda_forged", method, path).status_code == 401
    for kind in ("notes", "messages"):
        assert agent_api(client, merchant, "POST", f"/sessions/{sid}/{kind}",
                         json={"text": "x"}).status_code == 401  # fmt: skip
    assert agent_api(client, merchant, "POST", f"/sessions/{sid}/resolve",
                     json={"resolution": "other"}).status_code == 401  # fmt: skip
    # An agent token is no merchant token.
    assert (
        client.get(f"/api/v1/sessions/{sid}", headers={"Authorization": alice}).status_code == 401
    )
    assert client.post("/api/v1/sessions", headers={"Authorization": alice}).status_code == 401


def test_ticket_progress_is_the_merchants_own(client: TestClient, settings: Settings) -> None:
    sid_a, ticket_a = escalated_session(client, settings, MERCHANT_A)
    sid_b, ticket_b = escalated_session(client, settings, MERCHANT_B)
    mine = client.get(f"/internal/v1/sessions/{sid_a}/tickets", headers=internal(settings)).json()
    assert [t["ticket_no"] for t in mine] == [ticket_a["ticket_no"]]
    assert mine[0]["status"] == "new" and mine[0]["queue_position"] == 1
    theirs = client.get(f"/internal/v1/sessions/{sid_a}/tickets", headers=internal(settings),
                        params={"ticket_no": ticket_b["ticket_no"]}).json()  # fmt: skip
    assert theirs == []
    lower = client.get(f"/internal/v1/sessions/{sid_b}/tickets", headers=internal(settings),
                       params={"ticket_no": ticket_b["ticket_no"].lower()}).json()  # fmt: skip
    assert [t["ticket_no"] for t in lower] == [ticket_b["ticket_no"]]
    bad = client.get(f"/internal/v1/sessions/{sid_a}/tickets", headers=internal(settings),
                     params={"ticket_no": "x' OR 1=1"})  # fmt: skip
    assert bad.status_code == 422


def test_second_drop_replaces_the_evidence(client: TestClient, settings: Settings,
                                           db_session: Session) -> None:  # fmt: skip
    store(
        db_session,
        row(ref_no="612300000101"),
        row(ref_no="612300000777", amount="88.00", txn_time="2026-11-25T16:05:00"),
    )
    sid = open_session(client, settings)
    say = lambda text: client.post(f"/api/v1/sessions/{sid}/messages", json={"text": text},  # noqa: E731
                                   headers=auth(settings)).json()  # fmt: skip
    say("/slot order_ref=612300000101")
    say("/slot amount=320.50")
    first = client.post(f"/internal/v1/sessions/{sid}/diagnoses", headers=internal(settings),
                        json={"order_ref": "612300000101", "amount": "320.50"}).json()  # fmt: skip
    # A second drop: the bot forgets the first drop's details and gathers the new ones.
    say("/clear")
    say("/slot amount=88.00")
    state = client.get(f"/api/v1/sessions/{sid}", headers=auth(settings)).json()
    assert state["evidence"] == {"order_ref": None, "txn_time": None, "amount": "88.00",
                                 "card_last4": None}  # fmt: skip
    say("/slot order_ref=612300000777")
    second = client.post(f"/internal/v1/sessions/{sid}/diagnoses", headers=internal(settings),
                         json={"order_ref": "612300000777", "amount": "88.00"}).json()  # fmt: skip
    state = client.get(f"/api/v1/sessions/{sid}", headers=auth(settings)).json()
    assert state["evidence"]["order_ref"] == "612300000777"
    assert state["evidence"]["amount"] == "88.00"
    assert state["diagnosis"]["transactions"][0]["ref_no"] == "612300000777"
    assert first["transactions"][0]["ref_no"] != second["transactions"][0]["ref_no"]
    escalated = client.post(f"/internal/v1/sessions/{sid}/escalations", headers=internal(settings),
                            json={"reason": "merchant_request"}).json()  # fmt: skip
    ticket = db_session.scalars(
        select(Ticket).where(Ticket.ticket_no == escalated["ticket_no"])
    ).one()
    assert ticket.evidence["merchant_said"] == {"order_ref": "612300000777", "amount": "88.00"}
    assert [c["ref_no"] for c in ticket.evidence["candidates"]] == ["612300000777"]
    alice = make_agent(settings, "alice")
    detail = agent_api(client, alice, "GET", f"/sessions/{sid}").json()
    assert [d["query"].get("order_ref") for d in detail["diagnoses"]] == [
        "612300000101", "612300000777"
    ]  # fmt: skip
    assert detail["ticket"]["diagnosis_id"] == detail["diagnoses"][1]["id"]


def test_one_open_ticket_per_session_is_a_database_rule(client: TestClient, settings: Settings,
                                                        db_session: Session) -> None:  # fmt: skip
    sid, _ = escalated_session(client, settings)
    ticket = db_session.scalars(select(Ticket).where(Ticket.session_id == sid)).one()
    assert ticket.first_response_due_at - ticket.created_at == dt.timedelta(
        minutes=settings.first_response_minutes
    )
    db_session.add(Ticket(
        ticket_no="DD-20990101-0001", session_id=sid, merchant_id=ticket.merchant_id,
        reason="fallback", status=TicketStatus.ASSIGNED, priority=3, evidence={},
        first_response_due_at=ticket.created_at, created_at=ticket.created_at,
        updated_at=ticket.created_at,
    ))  # fmt: skip
    with pytest.raises(IntegrityError):
        db_session.flush()
    db_session.rollback()


def test_ticket_numbers_count_per_day(client: TestClient, settings: Settings) -> None:
    numbers = [escalated_session(client, settings)[1]["ticket_no"] for _ in range(3)]
    day = numbers[0][3:11]
    assert numbers == [f"DD-{day}-{n:04d}" for n in (1, 2, 3)]


def test_silent_agent_sends_the_session_back_to_the_queue(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    alice = make_agent(settings, "alice")
    sid, _ = escalated_session(client, settings)
    agent_api(client, alice, "POST", f"/sessions/{sid}/claim")
    handoffs = client.app.state.handoffs  # type: ignore[attr-defined]
    claimed_at = db_session.scalars(
        select(SessionTransition.created_at).where(SessionTransition.to_status == "agent")
    ).one()
    clock = {"now": claimed_at + dt.timedelta(minutes=29)}
    handoffs.clock = lambda: clock["now"]
    assert asyncio.run(handoffs.sweep_silent()) == []
    # The agent answers at minute 29: the clock restarts with the merchant's next message.
    agent_api(client, alice, "POST", f"/sessions/{sid}/messages", json={"text": "在查"})
    clock["now"] = claimed_at + dt.timedelta(minutes=45)
    assert asyncio.run(handoffs.sweep_silent()) == []
    client.app.state.turns.clock = lambda: clock["now"]  # type: ignore[attr-defined]
    client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "还在吗"}, headers=auth(settings))
    clock["now"] = claimed_at + dt.timedelta(minutes=45 + settings.agent_silence_minutes - 1)
    assert asyncio.run(handoffs.sweep_silent()) == []
    clock["now"] = claimed_at + dt.timedelta(minutes=45 + settings.agent_silence_minutes)
    assert asyncio.run(handoffs.sweep_silent()) == [sid]
    assert asyncio.run(handoffs.sweep_silent()) == []  # once only
    state = client.get(f"/api/v1/sessions/{sid}", headers=auth(settings)).json()
    assert state["status"] == "queued" and state["ticket_status"] == "new"
    assert "重新排队" in str(merchant_messages(client, settings, sid)[-1]["text"])
    reasons = db_session.scalars(select(SessionTransition.reason).order_by(SessionTransition.id))
    assert list(reasons)[-1] == "agent_silent"


def test_outside_working_hours_the_merchant_hears_when(client: TestClient, settings: Settings
                                                       ) -> None:  # fmt: skip
    now = dt.datetime.now(SHANGHAI)
    closed = f"{(now + dt.timedelta(hours=2)):%H}:00-{(now + dt.timedelta(hours=3)):%H}:00"
    if closed[:2] > closed[6:8]:  # the window would wrap midnight: use an early-morning one
        closed = "00:00-00:01" if now.hour else "23:58-23:59"
    client.app.state.settings.working_hours = closed  # type: ignore[attr-defined]
    client.app.state.handoffs.settings.working_hours = closed  # type: ignore[attr-defined]
    client.app.state.turns.settings.working_hours = closed  # type: ignore[attr-defined]
    sid, answer = escalated_session(client, settings)
    assert answer["offline"] is True
    opening = dt.datetime.fromisoformat(answer["next_opening"])
    assert opening > now and opening.astimezone(SHANGHAI).strftime("%H:%M") == closed[:5]
    reminder = client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "人呢"},
                           headers=auth(settings)).json()["messages"][0]["text"]  # fmt: skip
    assert "非工作时间" in reminder and answer["ticket_no"] in reminder


@pytest.fixture
def served(settings: Settings, db_session: Session) -> Iterator[tuple[str, Settings]]:
    """The service on a real port (uvicorn), for requests that really run concurrently."""
    store(db_session, row())
    fake, rasa_port = FakeRasa(), free_port()
    settings = settings.model_copy(update={"rasa_url": f"http://127.0.0.1:{rasa_port}"})
    with serve(fake.app, rasa_port), serve(create_app(settings), free_port()) as base:
        yield base, settings


def test_two_agents_claiming_at_once_one_wins(served: tuple[str, Settings]) -> None:
    base, settings = served
    tokens = [make_agent(settings, "alice"), make_agent(settings, "bob")]
    with TestClient(create_app(settings)) as setup:
        sessions = [escalated_session(setup, settings)[0] for _ in range(12)]
    outcomes: dict[str, list[int]] = {}
    for sid in sessions:
        barrier = threading.Barrier(2)
        codes: list[int] = []

        def claim(token: str, sid: str = sid, barrier: threading.Barrier = barrier,
                  codes: list[int] = codes) -> None:  # fmt: skip
            with httpx.Client(base_url=base, timeout=30) as http:
                barrier.wait()
                response = http.post(f"/api/v1/agent/sessions/{sid}/claim",
                                     headers={"Authorization": token})  # fmt: skip
                codes.append(response.status_code)

        threads = [threading.Thread(target=claim, args=(t,)) for t in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        outcomes[sid] = sorted(codes)
    assert all(codes == [200, 409] for codes in outcomes.values()), outcomes
    with session_scope(settings.database_url) as db:
        claims = db.scalars(
            select(SessionTransition.session_id).where(SessionTransition.reason == "claim")
        ).all()
        assert sorted(claims) == sorted(sessions)  # one recorded claim per session, never two
        assigned = db.scalars(select(TicketEvent).where(TicketEvent.to_status == "assigned")).all()
        assert len(assigned) == len(sessions)


def test_next_opening_and_how_the_merchant_reads_it() -> None:
    weekdays = Settings(working_hours="09:00-18:00", working_days="12345")
    friday_night = dt.datetime(2026, 12, 4, 22, 0, tzinfo=SHANGHAI)  # a Friday
    opening = handoff_service.next_opening(weekdays, friday_night)
    assert opening == dt.datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)  # Monday
    assert handoff_service.describe_opening(opening, friday_night) == "12月7日 09:00"
    early = dt.datetime(2026, 12, 3, 3, 40, tzinfo=SHANGHAI)
    assert handoff_service.describe_opening(handoff_service.next_opening(weekdays, early),
                                           early) == "今天 09:00"  # fmt: skip
    late = dt.datetime(2026, 12, 3, 18, 0, tzinfo=SHANGHAI)  # closing time is already closed
    assert not handoff_service.is_open(weekdays, late)
    assert handoff_service.describe_opening(handoff_service.next_opening(weekdays, late),
                                           late) == "明天 09:00"  # fmt: skip
    assert handoff_service.is_open(Settings(working_hours="00:00-24:00"), late)
