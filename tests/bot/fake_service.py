"""A fake DropDesk service speaking the internal API contract, with canned diagnoses.

Every request the actions send and every answer the fake gives is checked against the schemas
the service exports (actions/contract/internal_api.json, see tests/bot/contract.py): a request
the service would refuse raises ContractViolation in memory (HTTP 422 over HTTP), and an answer
the real service could never give is a bug in the fake (ContractViolation, HTTP 500).

Sessions: like the real service, the fake only knows the chat sessions it was told about, and
answers HTTP 404 (ServiceError in memory) for any other id. It knows "chat-1" (make_tracker's
default sender, a session of 老王便利店 865310054110001); tests add more with open_session(),
e.g. one of another merchant to check that tickets stay the merchant's own.

Used two ways:
- in memory by the action tests (FakeDropDeskService, BrokenDropDeskService, make_tracker);
- over real HTTP, so the bot can be run end to end without the real service:

    # 1. the fake service (any free port; the token is DROPDESK_INTERNAL_TOKEN or the dev default);
    #    --session ID (repeatable) names the known sessions; rasa shell picks a random sender
    #    id, so for it pass --any-session; POST /fake/sessions/{id} adds one while running
    .venv-bot/bin/python -m tests.bot.fake_service --port 8765 --any-session
    # 2. the action server, pointed at the fake
    DROPDESK_SERVICE_URL=http://127.0.0.1:8765 .venv-bot/bin/rasa run actions --actions actions
    # 3. a model, then the story tests (or talk to it: rasa shell / rasa run + REST)
    .venv-bot/bin/rasa train --config bot/config.yml --domain bot/domain.yml --data data \
        --out /tmp/models
    .venv-bot/bin/rasa test core --stories tests/bot/stories --model /tmp/models \
        --endpoints bot/endpoints.yml --fail-on-prediction-errors --out /tmp/story-results

Note: `rasa test core` replays the events written in the stories and checks every predicted
action; it does not execute custom actions, so steps 1-2 matter for live conversations
(rasa shell, or rasa run with the REST channel), where the actions really call the service.

Canned answers are chosen by order_ref: 612300000001 approved_not_printed, …02 declined,
…03 reversed, …04 not_found, …05 settlement_pending, …06 settled, …07 settlement_delayed,
…08 duplicate_charge (void today), …09 duplicate_charge (refund), …10 duplicate_charge
(settled, needs a person), …11 reversal_failed, …12 reversed by the merchant's void, …13
reversed by the merchant's refund; any other reference is not_found and
612300000500 answers HTTP 500. Without a reference: card tail 6688 finds one sale
(approved_not_printed), another tail is not_found, and no tail is ambiguous (ask card_last4).

Photos: the fake has read the photos a test gave it (add_reading(attachment id, fields), one
SlipReading as the service stores it, checked against the contract); any other attachment answers
HTTP 404 (None in memory), as a photo the service has not read.

Escalations open one ticket per session (DD-<day>-<n>, status new, queued behind the other new
tickets, 5 minutes per place); with offline=True they say when agents start again (09:00).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from collections.abc import Callable
from typing import Any

from aiohttp import web

from actions import vocabulary
from actions.normalise.timewindow import shanghai
from actions.service_client import ServiceError

from .contract import ContractViolation, check_request, check_response

TOKEN = os.environ.get("DROPDESK_INTERNAL_TOKEN", "dev-only-internal-token")
BROKEN_REF = "612300000500"
MERCHANT = "865310054110001"  # 老王便利店
OTHER_MERCHANT = "865310054110002"  # 小李面馆
NOW = dt.datetime(2026, 11, 25, 16, 30, tzinfo=shanghai())
OPENING = dt.time(9, 0)
MINUTES_PER_PLACE = 5
MAX_TICKETS = 3


def _txn(ref: str, **overrides: Any) -> dict[str, Any]:
    txn = {
        "id": int(ref[-6:]),
        "terminal_no": "10020001",
        "txn_type": "sale",
        "order_no": None,
        "trace_no": "000" + ref[-3:],
        "ref_no": ref,
        "batch_no": "000117",
        "auth_code": "A" + ref[-5:],
        "card_masked": "622202******6688",
        "amount": "320.50",
        "txn_time": "2026-11-25T15:10:00+08:00",
        "response_code": "00",
        "terminal_status": "completed",
        "reversal_status": "none",
        "settlement_status": "unsettled",
        "settlement_date": None,
        "original_ref_no": None,
    }
    return txn | overrides


TERMINAL = {
    "terminal_no": "10020001",
    "model": "新大陆 ME31",
    "software_version": "3.2.1",
    "last_online_at": "2026-11-25T15:30:00+08:00",
    "network_type": "4G",
    "latest_software_version": "3.4.0",
}
# What a diagnosis carries about the terminal (no latest version: that is the terminals answer).
HEALTH = {key: value for key, value in TERMINAL.items() if key != "latest_software_version"}


def _diagnosis(
    code: str,
    transactions: list[dict[str, Any]],
    next_steps: list[str],
    *,
    needs_human: bool = False,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "reason": f"canned {code}",
        "transactions": transactions,
        "next_steps": next_steps,
        "needs_human": needs_human,
        "details": details or {},
        "terminals": [HEALTH],
    }


CANNED_BY_REF: dict[str, dict[str, Any]] = {
    "612300000001": _diagnosis(
        "approved_not_printed",
        [_txn("612300000001", terminal_status="timeout")],
        ["do_not_charge_again", "offer_eslip"],
        details={"expected_date": "2026-11-26"},
    ),
    "612300000002": _diagnosis(
        "declined",
        [_txn("612300000002", response_code="51")],
        ["explain_response_code", "charge_again"],
        details={"response_code": "51", "response_meaning": "余额不足"},
    ),
    "612300000003": _diagnosis(
        "reversed",
        [_txn("612300000003", reversal_status="reversed")],
        ["tell_customer_refund_timing", "charge_again"],
        details={"how": "reversed", "money_back_by": "2026-11-26"},
    ),
    "612300000004": _diagnosis("not_found", [], ["recheck_details", "check_network"]),
    "612300000005": _diagnosis(
        "settlement_pending",
        [_txn("612300000005")],
        ["wait_for_settlement"],
        details={"expected_date": "2026-11-26", "settlement_cycle": "T1"},
    ),
    "612300000006": _diagnosis(
        "settled",
        [_txn("612300000006", settlement_status="settled", settlement_date="2026-11-24")],
        ["check_bank_account"],
        details={
            "settlement_date": "2026-11-24",
            "batch_no": "000117",
            "settlement_account": "6217****0021",
        },
    ),
    "612300000007": _diagnosis(
        "settlement_delayed",
        [_txn("612300000007", settlement_status="held")],
        ["escalate"],
        needs_human=True,
        details={"expected_date": "2026-11-20", "delay": "held"},
    ),
    "612300000008": _diagnosis(
        "duplicate_charge",
        [_txn("612300000008"), _txn("612300000108", trace_no="000109")],
        ["void_extra_today"],
        details={"same_day": "true", "settled": "false"},
    ),
    "612300000009": _diagnosis(
        "duplicate_charge",
        [_txn("612300000009"), _txn("612300000109", trace_no="000110")],
        ["refund_extra"],
        details={"same_day": "false", "settled": "false"},
    ),
    "612300000010": _diagnosis(
        "duplicate_charge",
        [
            _txn("612300000010", settlement_status="settled", settlement_date="2026-11-24"),
            _txn(
                "612300000110",
                trace_no="000111",
                settlement_status="settled",
                settlement_date="2026-11-24",
            ),
        ],
        ["refund_extra", "escalate"],
        needs_human=True,
        details={"same_day": "false", "settled": "true"},
    ),
    "612300000011": _diagnosis(
        "reversal_failed",
        [_txn("612300000011", reversal_status="failed")],
        ["do_not_charge_again", "escalate"],
        needs_human=True,
    ),
    "612300000012": _diagnosis(
        "reversed",
        [
            _txn("612300000012"),
            _txn("612300000112", txn_type="void", original_ref_no="612300000012"),
        ],
        ["tell_customer_refund_timing", "charge_again"],
        details={"how": "voided", "money_back_by": "2026-11-26"},
    ),
    "612300000013": _diagnosis(
        "reversed",
        [
            _txn("612300000013", txn_time="2026-11-20T15:10:00+08:00"),
            _txn("612300000113", txn_type="refund", original_ref_no="612300000013"),
        ],
        ["tell_customer_refund_timing", "charge_again"],
        details={"how": "refunded", "money_back_by": "2026-11-27"},
    ),
}

AMBIGUOUS = _diagnosis(
    "ambiguous",
    [
        _txn("612300000021", card_masked="622202******6688"),
        _txn(
            "612300000022",
            terminal_no="10020002",
            card_masked="621700******1234",
            response_code="51",
            terminal_status="failed",
        ),
    ],
    ["ask_card_last4"],
    details={
        "separating": "card_last4",
        "separators": "card_last4,terminal,screen,reference",
        "outcomes_differ": "true",
    },
)
FOUND_BY_CARD = _diagnosis(
    "approved_not_printed",
    [_txn("612300000021", terminal_status="timeout")],
    ["do_not_charge_again", "offer_eslip"],
)


def diagnosis_for(query: dict[str, Any]) -> dict[str, Any]:
    """Pick the canned diagnosis for a request body."""
    ref = query.get("order_ref")
    if ref:
        return CANNED_BY_REF.get(str(ref), CANNED_BY_REF["612300000004"])
    if query.get("card_last4") == "6688":
        return FOUND_BY_CARD
    if query.get("card_last4"):
        return CANNED_BY_REF["612300000004"]
    return AMBIGUOUS


class UnknownSession(ServiceError):
    """The real service answers HTTP 404 for a session it does not know."""


class FakeDropDeskService:
    """In-memory service that checks the contract and records what the actions asked for."""

    def __init__(
        self,
        sessions: dict[str, str] | None = None,
        *,
        clock: Callable[[], dt.datetime] = lambda: NOW,
        offline: bool = False,
        any_session: bool = False,
    ) -> None:
        self.sessions = dict(sessions if sessions is not None else {"chat-1": MERCHANT})
        self.clock, self.offline, self.any_session = clock, offline, any_session
        self.diagnoses: list[tuple[str, dict[str, Any]]] = []
        self.escalations: list[tuple[str, str]] = []
        self.ticket_lookups: list[tuple[str, str | None]] = []
        # Every ticket filed, oldest first, with its "merchant" and "session".
        self.filed: list[dict[str, Any]] = []
        # Photo readings by (session, attachment id), and every reading asked for.
        self.readings: dict[tuple[str, int], dict[str, Any]] = {}
        self.reading_lookups: list[tuple[str, int]] = []

    # --- what tests set up ---------------------------------------------------------------

    def open_session(self, session_id: str, merchant: str = MERCHANT) -> None:
        """Let the fake know a chat session, as the service knows sessions opened by chat."""
        self.sessions[session_id] = merchant

    def add_ticket(
        self,
        *,
        merchant: str = MERCHANT,
        session: str = "earlier-chat",
        status: str = "new",
        assignee: str | None = None,
        created_at: dt.datetime | None = None,
        updated_at: dt.datetime | None = None,
        last_update: str | None = None,
    ) -> dict[str, Any]:
        """File a ticket as if an earlier conversation (or an agent) had."""
        created = created_at or self.clock()
        ticket = {
            "ticket_no": self._next_ticket_no(created),
            "merchant": merchant,
            "session": session,
            "status": status,
            "assignee": assignee,
            "created_at": created,
            "updated_at": updated_at or created,
            "last_update": last_update,
        }
        self.filed.append(ticket)
        return ticket

    def add_reading(
        self,
        attachment_id: int,
        fields: dict[str, Any],
        *,
        session: str = "chat-1",
        kind: str = "slip",
        message: str = "我从照片上看到：…，对吗？",
    ) -> dict[str, Any]:
        """Keep what the reader saw on a photo of the session, as the service stores it."""
        blank = dict.fromkeys(
            ("merchant_no", "terminal_no", "reference_no", "trace_no", "batch_no", "amount",
             "txn_time", "card_last4", "response_code", "response_text")
        )  # fmt: skip
        reading = {
            "status": "read",
            "kind": kind,
            "fields": blank | fields,
            "message": message,
            "lines": [],
            "seconds": 0.5,
        }
        check_response("reading", reading)
        self.readings[(session, attachment_id)] = reading
        return reading

    # --- the contract ----------------------------------------------------------------------

    def _merchant_of(self, session_id: str) -> str:
        if session_id in self.sessions:
            return self.sessions[session_id]
        if self.any_session:
            return self.sessions.setdefault(session_id, MERCHANT)
        raise UnknownSession(f"HTTP 404: unknown session {session_id!r}")

    async def diagnose(self, session_id: str, query: dict[str, Any]) -> dict[str, Any]:
        self._merchant_of(session_id)
        check_request("diagnose", query)
        self.diagnoses.append((session_id, query))
        answer = diagnosis_for(query)
        check_response("diagnose", answer)
        return answer

    async def escalate(self, session_id: str, reason: str) -> dict[str, Any]:
        merchant = self._merchant_of(session_id)
        check_request("escalate", {"reason": reason})
        self.escalations.append((session_id, reason))
        ticket = next((t for t in self.filed if t["session"] == session_id), None)
        if ticket is None:
            ticket = self.add_ticket(merchant=merchant, session=session_id)
        else:  # the service reopens the session's ticket and queues the session again
            ticket.update(status="new", assignee=None, updated_at=self.clock(), last_update=None)
        position = self._queue_position(ticket)
        answer = {
            "ticket_no": ticket["ticket_no"],
            "status": ticket["status"],
            "priority": 2,
            "queue_position": position,
            "expected_wait_minutes": position * MINUTES_PER_PLACE,
            "offline": self.offline,
            "next_opening": self._next_opening().isoformat() if self.offline else None,
        }
        check_response("escalate", answer)
        return answer

    async def tickets(self, session_id: str, ticket_no: str | None = None) -> list[dict[str, Any]]:
        merchant = self._merchant_of(session_id)
        check_request("tickets", {"ticket_no": ticket_no} if ticket_no is not None else {})
        self.ticket_lookups.append((session_id, ticket_no))
        wanted = (ticket_no or "").strip().upper()
        own = [
            t
            for t in reversed(self.filed)
            if t["merchant"] == merchant and (not wanted or t["ticket_no"] == wanted)
        ]
        answer = [self._progress(t) for t in own[:MAX_TICKETS]]
        check_response("tickets", answer)
        return answer

    async def terminals(self, session_id: str) -> list[dict[str, Any]]:
        self._merchant_of(session_id)
        answer = [TERMINAL]
        check_response("terminals", answer)
        return answer

    async def reading(self, session_id: str, attachment_id: int) -> dict[str, Any] | None:
        self._merchant_of(session_id)
        check_request("reading", {})
        self.reading_lookups.append((session_id, attachment_id))
        answer = self.readings.get((session_id, attachment_id))
        if answer is not None:
            check_response("reading", answer)
        return answer

    # --- helpers -------------------------------------------------------------------------

    def _next_ticket_no(self, when: dt.datetime) -> str:
        day = f"{when.astimezone(shanghai()):%Y%m%d}"
        same_day = sum(t["ticket_no"].startswith(f"DD-{day}-") for t in self.filed)
        return f"DD-{day}-{same_day + 1:04d}"

    def _queue_position(self, ticket: dict[str, Any]) -> int:
        waiting = [t for t in self.filed if t["status"] == "new"]
        waiting.sort(key=lambda t: t["updated_at"])
        return waiting.index(ticket) + 1

    def _next_opening(self) -> dt.datetime:
        local = self.clock().astimezone(shanghai())
        opening = dt.datetime.combine(local.date(), OPENING, tzinfo=shanghai())
        return opening if opening > local else opening + dt.timedelta(days=1)

    def _progress(self, ticket: dict[str, Any]) -> dict[str, Any]:
        # The service's last_update is the text of the ticket's latest event.
        texts = vocabulary.ticket_statuses()
        status = ticket["status"]
        return {
            "ticket_no": ticket["ticket_no"],
            "status": status,
            "assignee": ticket["assignee"],
            "created_at": ticket["created_at"].isoformat(),
            "updated_at": ticket["updated_at"].isoformat(),
            "last_update": ticket["last_update"] or texts.get(status, status),
            "queue_position": self._queue_position(ticket) if status == "new" else None,
        }


class BrokenDropDeskService:
    """A service that is down."""

    async def diagnose(self, session_id: str, query: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("down")

    async def escalate(self, session_id: str, reason: str) -> dict[str, Any]:
        raise ServiceError("down")

    async def tickets(self, session_id: str, ticket_no: str | None = None) -> list[dict[str, Any]]:
        raise ServiceError("down")

    async def terminals(self, session_id: str) -> list[dict[str, Any]]:
        raise ServiceError("down")

    async def reading(self, session_id: str, attachment_id: int) -> dict[str, Any] | None:
        raise ServiceError("down")


# --- over HTTP ---------------------------------------------------------------------------


def _error(status: int, detail: str) -> web.Response:
    return web.json_response({"detail": detail}, status=status)


def make_app(fake: FakeDropDeskService | None = None) -> web.Application:
    """Build the aiohttp app serving the internal API contract."""
    fake = fake if fake is not None else FakeDropDeskService()

    @web.middleware
    async def speak_the_contract(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, "internal token missing or wrong")
        try:
            response: web.StreamResponse = await handler(request)
        except UnknownSession:
            return _error(404, "会话不存在")
        except ContractViolation as exc:
            # The caller broke the contract (422, as the real service), or the fake did (500).
            return _error(422 if exc.part == "request" else 500, str(exc))
        return response

    async def body_of(request: web.Request) -> Any:
        try:
            return await request.json()
        except json.JSONDecodeError as exc:
            raise ContractViolation(request.path, "request", f"not JSON: {exc}") from exc

    async def diagnoses(request: web.Request) -> web.Response:
        query = await body_of(request)
        if isinstance(query, dict) and query.get("order_ref") == BROKEN_REF:
            return _error(500, "boom")
        return web.json_response(await fake.diagnose(request.match_info["sid"], query))

    async def escalations(request: web.Request) -> web.Response:
        body = await body_of(request)
        fake._merchant_of(request.match_info["sid"])
        check_request("escalate", body)
        reason = body.get("reason", "merchant_request")
        return web.json_response(await fake.escalate(request.match_info["sid"], reason))

    async def tickets(request: web.Request) -> web.Response:
        ticket_no = request.query.get("ticket_no")
        return web.json_response(await fake.tickets(request.match_info["sid"], ticket_no))

    async def terminals(request: web.Request) -> web.Response:
        return web.json_response(await fake.terminals(request.match_info["sid"]))

    async def reading(request: web.Request) -> web.Response:
        answer = await fake.reading(request.match_info["sid"], int(request.match_info["aid"]))
        if answer is None:
            return _error(404, "这张照片还没有识别结果。")
        return web.json_response(answer)

    async def open_session(request: web.Request) -> web.Response:
        fake.open_session(request.match_info["sid"], request.query.get("merchant", MERCHANT))
        return web.json_response({"session_id": request.match_info["sid"]}, status=201)

    app = web.Application(middlewares=[speak_the_contract])
    base = "/internal/v1/sessions/{sid}"
    app.router.add_post(f"{base}/diagnoses", diagnoses)
    app.router.add_post(f"{base}/escalations", escalations)
    app.router.add_get(f"{base}/tickets", tickets)
    app.router.add_get(f"{base}/terminals", terminals)
    app.router.add_get(f"{base}/attachments/{{aid:\\d+}}/reading", reading)
    app.router.add_post("/fake/sessions/{sid}", open_session)  # not in the real service
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--session", action="append", default=[], help="a known session id")
    parser.add_argument("--any-session", action="store_true", help="know every session id")
    parser.add_argument("--offline", action="store_true", help="escalate outside opening hours")
    args = parser.parse_args()
    fake = FakeDropDeskService(
        {"chat-1": MERCHANT} | dict.fromkeys(args.session, MERCHANT),
        clock=lambda: dt.datetime.now(shanghai()),
        offline=args.offline,
        any_session=args.any_session,
    )
    web.run_app(make_app(fake), host=args.host, port=args.port)


if __name__ == "__main__":
    main()


# --- helpers for the action tests --------------------------------------------------


def make_tracker(
    *,
    text: str = "",
    intent: str = "report_drop",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
    latest_action: str = "action_listen",
    events: list[dict[str, Any]] | None = None,
    candidates: dict[str, Any] | None = None,
    sender_id: str = "chat-1",
) -> Any:
    """Build a rasa_sdk Tracker from plain dicts, as the action server receives it.

    `candidates` are slot values set after the user message (by slot mappings), which
    a validation action sees as the slots to validate.
    """
    from rasa_sdk import Tracker

    message = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
    }
    user_event = {"event": "user", "text": text, "parse_data": message}
    if active_loop:
        # The form was already running when the merchant wrote this message.
        events = [{"event": "active_loop", "name": active_loop}, *(events or [])]
    slot_events = [
        {"event": "slot", "name": name, "value": value}
        for name, value in (candidates or {}).items()
    ]
    return Tracker(
        sender_id=sender_id,
        slots=dict(slots or {}) | dict(candidates or {}),
        latest_message=message,
        events=[*(events or []), user_event, *slot_events],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name=latest_action,
    )


def entity(name: str, value: str) -> dict[str, Any]:
    """An NLU entity as the tracker carries it."""
    return {"entity": name, "value": value, "extractor": "DIETClassifier"}
