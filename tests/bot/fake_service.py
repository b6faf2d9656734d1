"""A fake DropDesk service speaking the internal API contract, with canned diagnoses.

Used two ways:
- in-memory by the action tests (FakeDropDeskService, BrokenDropDeskService, make_tracker);
- over real HTTP, so the bot can be run end to end without the real service:

    # 1. the fake service (any free port; the token is DROPDESK_INTERNAL_TOKEN or the dev default)
    .venv-bot/bin/python -m tests.bot.fake_service --port 8765
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
(settled, needs a person), …11 reversal_failed; any other reference is not_found and
612300000500 answers HTTP 500. Without a reference: card tail 6688 finds one sale
(approved_not_printed), another tail is not_found, and no tail is ambiguous (ask card_last4).
"""

from __future__ import annotations

import argparse
import itertools
import os
from typing import Any

from aiohttp import web

from actions.service_client import ServiceError

TOKEN = os.environ.get("DROPDESK_INTERNAL_TOKEN", "dev-only-internal-token")
BROKEN_REF = "612300000500"


def _txn(ref: str, **overrides: Any) -> dict[str, Any]:
    txn = {
        "ref_no": ref,
        "trace_no": "000" + ref[-3:],
        "order_no": None,
        "amount": "320.50",
        "txn_time": "2026-11-25T15:10:00+08:00",
        "card_masked": "622202******6688",
        "response_code": "00",
        "terminal_status": "completed",
        "reversal_status": "none",
        "settlement_status": "pending",
        "settlement_date": None,
        "terminal_no": "10020001",
    }
    return txn | overrides


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
        "terminals": [TERMINAL],
    }


TERMINAL = {
    "terminal_no": "10020001",
    "model": "新大陆 ME31",
    "software_version": "3.2.1",
    "last_online_at": "2026-11-25T15:30:00+08:00",
    "network_type": "4G",
    "latest_software_version": "3.4.0",
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
            _txn("612300000010", settlement_status="settled"),
            _txn("612300000110", trace_no="000111", settlement_status="settled"),
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
}

AMBIGUOUS = _diagnosis(
    "ambiguous",
    [_txn("612300000021", card_masked="622202******6688"), _txn("612300000022")],
    ["ask_card_last4"],
    details={"separating": "card_last4"},
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


class FakeDropDeskService:
    """In-memory service that records what the actions asked for."""

    def __init__(self) -> None:
        self.diagnoses: list[tuple[str, dict[str, Any]]] = []
        self.escalations: list[tuple[str, str]] = []
        self._tickets = itertools.count(1)

    async def diagnose(self, session_id: str, query: dict[str, Any]) -> dict[str, Any]:
        self.diagnoses.append((session_id, query))
        return diagnosis_for(query)

    async def escalate(self, session_id: str, reason: str) -> dict[str, Any]:
        self.escalations.append((session_id, reason))
        return {"ticket_no": f"T{next(self._tickets):06d}", "status": "queued"}

    async def terminals(self, session_id: str) -> list[dict[str, Any]]:
        return [TERMINAL]


class BrokenDropDeskService:
    """A service that is down."""

    async def diagnose(self, session_id: str, query: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("down")

    async def escalate(self, session_id: str, reason: str) -> dict[str, Any]:
        raise ServiceError("down")

    async def terminals(self, session_id: str) -> list[dict[str, Any]]:
        raise ServiceError("down")


def make_app() -> web.Application:
    """Build the aiohttp app serving the internal API contract."""
    fake = FakeDropDeskService()

    @web.middleware
    async def require_token(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"detail": "unauthorised"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def diagnoses(request: web.Request) -> web.Response:
        query = await request.json()
        if query.get("order_ref") == BROKEN_REF:
            return web.json_response({"detail": "boom"}, status=500)
        return web.json_response(await fake.diagnose(request.match_info["sid"], query))

    async def escalations(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(await fake.escalate(request.match_info["sid"], body["reason"]))

    async def terminals(request: web.Request) -> web.Response:
        return web.json_response(await fake.terminals(request.match_info["sid"]))

    app = web.Application(middlewares=[require_token])
    base = "/internal/v1/sessions/{sid}"
    app.router.add_post(f"{base}/diagnoses", diagnoses)
    app.router.add_post(f"{base}/escalations", escalations)
    app.router.add_get(f"{base}/terminals", terminals)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port)


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
