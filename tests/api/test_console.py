"""The agent console: sign-in, CSRF, the queue, one session's actions, what merchants never see."""

from __future__ import annotations

import datetime as dt
import re
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from fastapi.websockets import WebSocketDisconnect
from httpx import Response
from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.agent import service as agent_service
from dropdesk.agent.models import AgentCreate, AgentRole
from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import Settings
from dropdesk.console import canned, live
from dropdesk.conversation.models import (
    ChatSession,
    EvidenceRead,
    SessionState,
    SessionStatus,
)
from dropdesk.database.core import get_engine
from dropdesk.handoff.models import SessionDetail
from dropdesk.main import create_app
from dropdesk.merchant.models import Merchant
from dropdesk.ticket.models import Ticket
from tests.api.factories import MERCHANT_A, row, store
from tests.api.fake_rasa import FakeRasa, free_port, serve
from tests.api.handoff_helpers import internal

PASSWORD = "correct horse battery"
SHOP = "老王便利店"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """One browser's cookies over the app's one TestClient (one event loop for the whole app)."""

    def __init__(self, client: TestClient, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.jar = httpx.Cookies()
        self.headers = headers or {}

    @property
    def cookies(self) -> httpx.Cookies:
        return self.jar

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        self.client.cookies = self.jar
        try:
            headers = self.headers | kwargs.pop("headers", {})
            return self.client.request(method, url, headers=headers, **kwargs)
        finally:
            self.jar = self.client.cookies
            self.client.cookies = httpx.Cookies()

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Response:
        return self.request("POST", url, **kwargs)

    def websocket(self, url: str, origin: str | None = "http://testserver") -> Any:
        """Open a socket the way a console page does (same origin, this browser's cookies)."""
        self.client.cookies = self.jar
        return self.client.websocket_connect(url, headers={"origin": origin} if origin else {})


@dataclass
class Console:
    client: TestClient
    settings: Settings
    merchant: Browser  # the chat API, as the merchant's widget uses it
    rasa: FakeRasa

    def browser(self) -> Browser:
        return Browser(self.client)

    def agent(self, name: str, password: str = PASSWORD) -> Browser:
        """A browser of its own (its own cookies), signed in as the agent."""
        browser = self.browser()
        response = login(browser, name, password)
        assert response.status_code == 303, response.text
        return browser

    def new_session(self) -> str:
        response = self.merchant.post("/api/v1/sessions")
        assert response.status_code == 201
        return str(response.json()["session_id"])

    def escalated_session(self) -> str:
        """A session the bot queued after diagnosing ref 000000000100, ¥320.50."""
        sid = self.new_session()
        found = self.client.post(f"/internal/v1/sessions/{sid}/diagnoses",
                                   json={"order_ref": "000000000100", "amount": "320.50"},
                                   headers=internal(self.settings))  # fmt: skip
        assert found.status_code == 200, found.text
        self.escalate(sid)
        return sid

    def escalate(self, sid: str, reason: str = "merchant_request") -> None:
        queued = self.client.post(
            f"/internal/v1/sessions/{sid}/escalations",
            json={"reason": reason},
            headers=internal(self.settings),
        )
        assert queued.status_code == 200, queued.text

    def merchant_view(self, sid: str) -> str:
        """Everything the merchant can read about the session, as one text."""
        return (
            self.merchant.get(f"/api/v1/sessions/{sid}/messages").text
            + self.merchant.get(f"/api/v1/sessions/{sid}").text
        )


def login(client: Browser, name: str, password: str) -> Response:
    page = client.get("/console/login")
    assert page.status_code == 200
    return client.post(
        "/console/login",
        data={"name": name, "password": password, "csrf": csrf(page.text)},
        follow_redirects=False,
    )


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def act(client: Browser, sid: str, action: str, **form: str) -> Response:
    """Post an action's form the way the page does (token taken from the page)."""
    token = csrf(client.get(f"/console/sessions/{sid}").text)
    return client.post(f"/console/sessions/{sid}/{action}", data={"csrf": token, **form},
                       follow_redirects=False)  # fmt: skip


def page_after(client: Browser, response: Response) -> str:
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"]).text


def status_of(db_session: Session, sid: str) -> tuple[str, str | None]:
    db_session.expire_all()
    chat = db_session.get_one(ChatSession, sid)
    holder = None
    if chat.assignee_id is not None:
        holder = agent_service.get_active(db_session=db_session, agent_id=chat.assignee_id)
    return chat.status, holder.name if holder else None


@pytest.fixture
def console(settings: Settings, db_session: Session) -> Iterator[Console]:
    store(db_session, row(ref_no="000000000100", amount="320.50"))
    db_session.execute(update(Merchant).values(name=SHOP))
    now = dt.datetime.now(dt.UTC)
    for name, role in (("alice", AgentRole.AGENT), ("bob", AgentRole.AGENT),
                       ("sue", AgentRole.SUPERVISOR)):  # fmt: skip
        spec = AgentCreate(name=name, role=role, password=PASSWORD)
        agent_service.create(db_session=db_session, spec=spec, now=now)
    db_session.commit()
    fake, port = FakeRasa(), free_port()
    app_settings = settings.model_copy(
        update={"rasa_url": f"http://127.0.0.1:{port}", "rasa_timeout_seconds": 2.0}
    )
    token = issue_merchant_token(merchant_no=MERCHANT_A, settings=app_settings)
    with serve(fake.app, port), TestClient(create_app(app_settings)) as client:
        merchant = Browser(client, {"Authorization": f"Bearer {token}"})
        yield Console(client=client, settings=app_settings, merchant=merchant, rasa=fake)


# --- signing in -------------------------------------------------------------------------------


def test_nothing_without_a_login(console: Console) -> None:
    sid = console.escalated_session()
    anonymous = console.browser()
    for page in ("/console", f"/console/sessions/{sid}"):
        response = anonymous.get(page, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/login?next=")
    session = f"/console/sessions/{sid}"
    for url in ("/console/queue/rows", f"{session}/feed", f"{session}/attachments/1"):
        assert anonymous.get(url).status_code == 401, url
    for url in ("/console/live/queue", f"{session}/live"):
        assert closed_with(anonymous, url) == 4401
    for action in ("claim", "reply", "note", "release", "reassign", "handback", "resolve"):
        assert anonymous.post(f"/console/sessions/{sid}/{action}").status_code == 401
    assert anonymous.post("/console/logout").status_code == 401
    # A merchant's token is no console cookie (another audience), whatever its signature.
    anonymous.cookies.set("dropdesk_console", str(console.merchant.headers["Authorization"])[7:],
                          path="/console")  # fmt: skip
    assert anonymous.get("/console/queue/rows").status_code == 401


def test_login_sets_an_httponly_samesite_cookie(console: Console) -> None:
    client = console.browser()
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = next(c for c in response.headers.get_list("set-cookie")
                  if c.startswith("dropdesk_console="))  # fmt: skip
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/console"} <= attributes
    assert "secure" not in attributes  # plain http outside production
    queue = client.get("/console")
    assert queue.status_code == 200 and "alice" in queue.text
    csp = queue.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert queue.headers["cache-control"] == "no-store"
    # Signed in already: the login page sends the agent on.
    assert client.get("/console/login", follow_redirects=False).status_code == 303


def test_the_cookie_is_secure_in_production(settings: Settings, db_session: Session) -> None:
    strong = {"secret_key": "s" * 40, "internal_token": "i" * 40, "rasa_token": "r" * 40}
    prod = settings.model_copy(update={"env": "production", **strong})
    agent_service.create(db_session=db_session, now=dt.datetime.now(dt.UTC),
                         spec=AgentCreate(name="alice", password=PASSWORD))  # fmt: skip
    db_session.commit()
    client = Browser(TestClient(create_app(prod), base_url="https://testserver"))
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 303
    for cookie in response.headers.get_list("set-cookie"):
        assert "secure" in cookie.lower() and "httponly" in cookie.lower()
    assert client.get("/console").status_code == 200


def test_wrong_password_then_lockout(console: Console) -> None:
    client = console.browser()
    wrong = login(client, "alice", "not the password")
    assert wrong.status_code == 401 and messages.LOGIN_FAILED in wrong.text
    assert "dropdesk_console=" not in wrong.headers.get("set-cookie", "")
    unknown = login(client, "nobody", PASSWORD)
    assert unknown.status_code == 401 and messages.LOGIN_FAILED in unknown.text
    for _ in range(4):
        assert login(client, "alice", "still wrong").status_code == 401
    locked = login(client, "alice", PASSWORD)  # the right password, too late
    assert locked.status_code == 429
    assert messages.LOGIN_LOCKED.format(minutes=15) in locked.text
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_login_form_needs_its_token(console: Console) -> None:
    client = console.browser()
    client.get("/console/login")
    response = client.post("/console/login", data={"name": "alice", "password": PASSWORD},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 403 and messages.CSRF_FAILED in response.text
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_logout_ends_every_login_of_the_agent(console: Console) -> None:
    laptop, phone = console.agent("alice"), console.agent("alice")
    replay = console.browser()  # someone who copied the laptop's cookie
    replay.cookies.set("dropdesk_console", laptop.cookies["dropdesk_console"], path="/console")
    assert replay.get("/console", follow_redirects=False).status_code == 200
    refused = laptop.post("/console/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert refused.status_code == 403 and messages.CSRF_FAILED in refused.text
    assert laptop.get("/console", follow_redirects=False).status_code == 200
    token = csrf(laptop.get("/console").text)
    out = laptop.post("/console/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert messages.LOGGED_OUT in laptop.get("/console/login").text
    assert laptop.get("/console", follow_redirects=False).status_code == 303
    # The old cookie, replayed, and the other device's login: both ended by the epoch.
    assert replay.get("/console", follow_redirects=False).status_code == 303
    assert replay.get("/console/queue/rows").status_code == 401
    assert phone.get("/console", follow_redirects=False).status_code == 303
    assert console.agent("alice").get("/console").status_code == 200  # signing in again works


# --- actions ----------------------------------------------------------------------------------


def test_a_missing_or_forged_csrf_token_changes_nothing(console: Console,
                                                       db_session: Session) -> None:  # fmt: skip
    sid = console.escalated_session()
    alice, bob = console.agent("alice"), console.agent("bob")
    bobs_token = csrf(bob.get("/console").text)
    for form in ({}, {"csrf": ""}, {"csrf": "0" * 64}, {"csrf": bobs_token}):
        response = alice.post(f"/console/sessions/{sid}/claim", data=form, follow_redirects=False)
        assert response.status_code == 403, form
        assert messages.CSRF_FAILED in response.text
    assert status_of(db_session, sid) == (SessionStatus.QUEUED, None)
    note = alice.post(f"/console/sessions/{sid}/note", data={"text": "偷偷写的"},
                      follow_redirects=False)  # fmt: skip
    assert note.status_code == 403
    assert "偷偷写的" not in alice.get(f"/console/sessions/{sid}").text


def test_claim_from_the_queue_and_the_second_agent_sees_who_has_it(
    console: Console, db_session: Session
) -> None:
    sid = console.escalated_session()
    alice, bob = console.agent("alice"), console.agent("bob")
    queue = alice.get("/console").text
    assert f'formaction="/console/sessions/{sid}/claim"' in queue
    assert SHOP in queue and "¥320.50" in queue and "排队中" in queue
    token = csrf(queue)
    claimed = alice.post(f"/console/sessions/{sid}/claim", data={"csrf": token, "from": "queue"},
                         follow_redirects=False)  # fmt: skip
    assert claimed.headers["location"] == f"/console/sessions/{sid}"
    page = page_after(alice, claimed)
    assert messages.CONSOLE_DONE["claim"] in page and 'id="reply-text"' in page
    assert status_of(db_session, sid) == (SessionStatus.AGENT, "alice")

    late = bob.post(f"/console/sessions/{sid}/claim",
                    data={"csrf": csrf(bob.get("/console").text), "from": "queue"},
                    follow_redirects=False)  # fmt: skip
    assert late.headers["location"] == "/console"
    shown = page_after(bob, late)
    assert messages.CLAIMED_BY_OTHER.format(agent="alice") in shown
    assert "Traceback" not in shown and "alice 接待中" in shown
    assert status_of(db_session, sid) == (SessionStatus.AGENT, "alice")
    # Bob cannot speak in alice's session either: a clear note, nothing sent.
    spoke = page_after(bob, act(bob, sid, "reply", text="我来回答"))
    assert messages.NOT_YOUR_SESSION in spoke
    assert "我来回答" not in console.merchant_view(sid)


def test_the_merchant_gets_replies_and_never_notes(console: Console) -> None:
    sid = console.escalated_session()
    alice = console.agent("alice")
    act(alice, sid, "claim")
    page_after(alice, act(alice, sid, "reply", text="您好，我是 alice，正在查。"))
    noted = page_after(alice, act(alice, sid, "note", text="内部：商户可能记错了金额"))
    assert messages.CONSOLE_DONE["note"] in noted
    assert "内部：商户可能记错了金额" in noted and "内部备注" in noted
    messages_seen = console.merchant.get(f"/api/v1/sessions/{sid}/messages").json()
    agent_said = [m for m in messages_seen if m["sender"] == "agent"]
    assert [(m["text"], m["agent"]) for m in agent_said] == [
        ("您好，我是 alice，正在查。", "alice")
    ]
    assert "商户可能记错了金额" not in console.merchant_view(sid)
    # The card number an agent types is masked before it is kept or sent.
    act(alice, sid, "reply", text="卡号 6222021234567890128 对吗")
    assert "6222021234567890128" not in console.merchant_view(sid)
    assert "622202******0128" in console.merchant_view(sid)
    # Empty text: a note on the page, nothing stored.
    empty = page_after(alice, act(alice, sid, "note", text="   "))
    assert messages.CONSOLE_TEXT_EMPTY in empty


def test_the_conversation_page_shows_the_evidence(console: Console) -> None:
    sid = console.escalated_session()
    alice = console.agent("alice")
    ticket_no = console.merchant.get(f"/api/v1/sessions/{sid}").json()["ticket_no"]
    page = alice.get(f"/console/sessions/{sid}").text
    assert ticket_no in page and SHOP in page
    assert "000000000100" in page and "622202******0128" in page  # the candidate, card masked
    assert "6222021234567890128" not in page
    assert "T0000001" in page  # the terminal
    assert messages.TICKET_STATUS_TEXT["new"] in page
    assert messages.ESCALATION_REASON_TEXT["merchant_request"] in page
    # Before claiming, no reply box and no canned replies; after, filled in from the evidence.
    assert 'id="reply-text"' not in page
    act(alice, sid, "claim")
    page = alice.get(f"/console/sessions/{sid}").text
    values = {"商户名": SHOP, "金额": "320.50", "参考号": "000000000100"}
    greeting = canned.fill(messages.CANNED_REPLIES["接入问候"], values)
    assert f'data-fill="{greeting}"' in page
    follow_up = canned.fill(messages.CANNED_REPLIES["已提交跟进"], {"工单号": ticket_no})
    assert f'data-fill="{follow_up}"' in page


def test_reassign_is_for_supervisors(console: Console, db_session: Session) -> None:
    sid = console.escalated_session()
    alice, bob, sue = console.agent("alice"), console.agent("bob"), console.agent("sue")
    act(alice, sid, "claim")
    assert 'name="agent"' not in alice.get(f"/console/sessions/{sid}").text
    refused = page_after(bob, act(bob, sid, "reassign", agent="bob"))
    assert "只有主管可以转派" in refused
    assert status_of(db_session, sid) == (SessionStatus.AGENT, "alice")
    page = sue.get(f"/console/sessions/{sid}").text
    assert 'name="agent"' in page and "<option>bob</option>" in page
    done = page_after(sue, act(sue, sid, "reassign", agent="bob"))
    assert messages.CONSOLE_DONE["reassign"].format(agent="bob") in done
    assert status_of(db_session, sid) == (SessionStatus.AGENT, "bob")
    unknown = page_after(sue, act(sue, sid, "reassign", agent="nobody"))
    assert messages.UNKNOWN_AGENT in unknown


def test_release_hand_back_and_resolve(console: Console, db_session: Session) -> None:
    sid = console.escalated_session()
    alice = console.agent("alice")
    act(alice, sid, "claim")
    released = act(alice, sid, "release")
    assert released.headers["location"] == "/console"
    assert messages.CONSOLE_DONE["release"] in page_after(alice, released)
    assert status_of(db_session, sid) == (SessionStatus.QUEUED, None)

    act(alice, sid, "claim")
    back = page_after(alice, act(alice, sid, "handback"))
    assert messages.CONSOLE_DONE["handback"] in back
    assert status_of(db_session, sid)[0] == SessionStatus.BOT
    assert [sender for sender, _ in console.rasa.resets] == [sid]  # the bot starts afresh
    assert messages.HANDED_BACK in console.merchant_view(sid)

    console.escalate(sid, "not_solved")
    act(alice, sid, "claim")
    bad = page_after(alice, act(alice, sid, "resolve", resolution="made_up"))
    assert messages.CONSOLE_INVALID in bad
    assert status_of(db_session, sid)[0] == SessionStatus.AGENT
    resolved = act(alice, sid, "resolve", resolution="refund_arranged", note="已安排退款")
    assert resolved.headers["location"] == "/console"
    ticket = db_session.scalars(select(Ticket).where(Ticket.session_id == sid)).one()
    assert messages.CONSOLE_DONE["resolve"].format(ticket_no=ticket.ticket_no) in page_after(
        alice, resolved
    )
    assert (ticket.status, ticket.resolution) == ("resolved", "refund_arranged")
    assert "已安排退款" in console.merchant_view(sid)


def png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x0b\x5c\xad")
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def test_agents_see_the_merchants_photos(console: Console) -> None:
    sid = console.new_session()
    uploaded = console.merchant.post(f"/api/v1/sessions/{sid}/attachments",
                                     files={"file": ("slip.png", png(), "image/png")})  # fmt: skip
    assert uploaded.status_code == 201, uploaded.text
    attachment_id = uploaded.json()["attachment"].rsplit("/", 1)[1]
    alice = console.agent("alice")
    url = f"/console/sessions/{sid}/attachments/{attachment_id}"
    assert f'src="{url}"' in alice.get(f"/console/sessions/{sid}").text
    photo = alice.get(url)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
    assert photo.content == png()
    other = console.new_session()
    assert alice.get(f"/console/sessions/{other}/attachments/{attachment_id}").status_code == 404
    assert console.browser().get(url).status_code == 401


def test_the_queue_of_a_thousand_is_one_query(console: Console, db_session: Session) -> None:
    merchant_id = db_session.scalars(select(Merchant.id)).first()
    now = dt.datetime.now(dt.UTC)
    sessions = [
        {"id": f"s{i:05d}", "merchant_id": merchant_id, "channel": "widget", "status": "queued",
         "escalated": True, "queued_at": now - dt.timedelta(seconds=i), "amount_fen": 32050,
         "created_at": now, "updated_at": now}
        for i in range(1000)
    ]  # fmt: skip
    tickets = [
        {"ticket_no": f"DD-20261203-{i:04d}", "session_id": s["id"], "merchant_id": merchant_id,
         "reason": "merchant_request", "status": "new", "priority": 1 + i % 3, "evidence": {},
         "first_response_due_at": now + dt.timedelta(minutes=30), "created_at": now,
         "updated_at": now}
        for i, s in enumerate(sessions)
    ]  # fmt: skip
    db_session.execute(insert(ChatSession), sessions)
    db_session.execute(insert(Ticket), tickets)
    db_session.commit()
    alice = console.agent("alice")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = get_engine(console.settings.database_url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        rows = alice.get("/console/queue/rows")
        elapsed = time.perf_counter() - started
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert rows.status_code == 200
    assert rows.text.count("data-session=") == 1000
    assert len(statements) <= 3, statements  # the agent, the queue; nothing per row
    assert elapsed < 3, elapsed
    # By priority, then by waiting time: the first row is high priority and waited longest.
    first = re.search(r'data-session="(s\d+)"', rows.text)
    assert first and first.group(1) == "s00999"


# --- pure parts -------------------------------------------------------------------------------


def test_fill_puts_values_in_and_leaves_the_unknown() -> None:
    template = "{商户名}您好，参考号 {参考号}、金额 {金额} 元，工单 {工单号}，{别的}"
    values = {"商户名": "老王便利店", "参考号": "612300000001", "金额": "320.50",
              "工单号": None}  # fmt: skip
    assert canned.fill(template, values) == (
        "老王便利店您好，参考号 612300000001、金额 320.50 元，工单 {工单号}，{别的}"
    )
    # A value is inserted once, never read again as a template.
    assert canned.fill("{商户名}{金额}", {"商户名": "{金额}", "金额": "1.00"}) == "{金额}1.00"


def test_placeholder_values_prefer_the_one_transaction_found() -> None:
    def detail(**overrides: Any) -> SessionDetail:
        fields: dict[str, Any] = {
            "session": SessionState(
                session_id="s", status=SessionStatus.AGENT, diagnosis=None, escalated=True,
                evidence=EvidenceRead(order_ref="12345678", txn_time=None, amount="300"),
            ),
            "merchant": {"merchant_no": MERCHANT_A, "name": SHOP},
            "channel": "widget", "assignee": "alice", "transcript": [], "notes": [],
            "diagnoses": [], "ticket": None, "transitions": [],
        }  # fmt: skip
        return SessionDetail(**(fields | overrides))

    assert canned.placeholder_values(detail()) == {
        "商户名": SHOP, "参考号": "12345678", "金额": "300.00", "工单号": None,
    }  # fmt: skip

    found = SimpleNamespace(transactions=[{"ref_no": "612300000001", "amount": "320.50"}])
    said = {"merchant_said": {"order_ref": "x", "amount": "1"}}
    ticket = SimpleNamespace(ticket_no="DD-20261203-0001", evidence=said)
    values = canned.placeholder_values(detail(diagnoses=[found], ticket=ticket))
    assert values == {"商户名": SHOP, "参考号": "612300000001", "金额": "320.50",
                      "工单号": "DD-20261203-0001"}  # fmt: skip


def closed_with(browser: Browser, url: str, origin: str | None = "http://testserver") -> int:
    """The close code a live socket ends with before saying anything."""
    with browser.websocket(url, origin) as socket, pytest.raises(WebSocketDisconnect) as closed:
        socket.receive_json()
    return closed.value.code


def test_live_sockets_relay_the_session_and_the_queue(console: Console) -> None:
    sid = console.escalated_session()
    alice = console.agent("alice")
    with (
        alice.websocket(f"/console/sessions/{sid}/live") as session,
        alice.websocket("/console/live/queue") as queue,
    ):
        assert session.receive_json() == {"type": "ready"}
        assert queue.receive_json() == {"type": "ready"}
        act(alice, sid, "note", text="只给客服看")
        note = session.receive_json()
        assert note["type"] == "note" and note["note"]["text"] == "只给客服看"
        console.merchant.post(f"/api/v1/sessions/{sid}/messages", json={"text": "还要等多久"})
        said = session.receive_json()
        assert said["type"] == "message" and said["message"]["text"] == "还要等多久"
        assert session.receive_json()["message"]["sender"] == "system"  # the queue reminder
        act(alice, sid, "claim")
        assert queue.receive_json() == {"type": "queue", "session_id": sid, "status": "agent"}
        session.send_json({"type": "ping"})
        kinds = [session.receive_json()["type"] for _ in range(3)]
        assert sorted(kinds) == ["message", "pong", "status"]  # agent joined, now agent, pong


def test_live_sockets_refuse_other_sites_and_end_with_the_login(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = console.escalated_session()
    laptop, phone = console.agent("alice"), console.agent("alice")
    url = f"/console/sessions/{sid}/live"
    assert closed_with(phone, url, origin="https://evil.example") == 4403
    assert closed_with(phone, url, origin=None) == 4403
    monkeypatch.setattr(live, "LOGIN_CHECK_SECONDS", 0.05)
    with phone.websocket(url) as socket:
        assert socket.receive_json() == {"type": "ready"}
        token = csrf(laptop.get("/console").text)
        assert laptop.post("/console/logout", data={"csrf": token}).status_code == 200
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4401
