"""The fake service speaks the exported contract, and its checks really reject what breaks it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientSession, web

from actions.service_client import HttpDropDeskService, ServiceError

from . import contract
from .fake_service import (
    AMBIGUOUS,
    CANNED_BY_REF,
    FOUND_BY_CARD,
    OTHER_MERCHANT,
    TERMINAL,
    TOKEN,
    FakeDropDeskService,
    make_app,
)

TICKET_CREATED = {
    "ticket_no": "DD-20261203-0007",
    "status": "new",
    "priority": 2,
    "queue_position": 3,
    "expected_wait_minutes": 15,
    "offline": False,
    "next_opening": None,
}
PROGRESS = {
    "ticket_no": "DD-20261203-0007",
    "status": "assigned",
    "assignee": "小周",
    "created_at": "2026-12-03T10:00:00+08:00",
    "updated_at": "2026-12-03T10:20:00+08:00",
    "last_update": "人工客服正在处理",
    "queue_position": None,
}


# --- the contract checks themselves --------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [*CANNED_BY_REF.values(), AMBIGUOUS, FOUND_BY_CARD],
    ids=[*CANNED_BY_REF, "ambiguous", "found_by_card"],
)
def test_every_canned_diagnosis_fits_the_contract(answer: dict[str, Any]) -> None:
    contract.check_response("diagnose", answer)


def test_canned_transactions_use_the_services_statuses() -> None:
    """The schema types these as plain strings, so the values are checked here (see below)."""
    # Until the contract carries these enums (TransactionRead's *_status fields are `str`), they
    # are the service's TerminalStatus / ReversalStatus / SettlementStatus values.
    allowed = {
        "terminal_status": {"completed", "failed", "timeout"},
        "reversal_status": {"none", "reversed", "failed"},
        "settlement_status": {"unsettled", "settled", "failed", "held"},
    }
    for answer in [*CANNED_BY_REF.values(), AMBIGUOUS, FOUND_BY_CARD]:
        for txn in answer["transactions"]:
            for field, values in allowed.items():
                assert txn[field] in values, (txn["ref_no"], field, txn[field])


@pytest.mark.parametrize(
    ("endpoint", "part", "document", "complaint"),
    [
        ("escalate", "request", {"reason": "settlement"}, "reason"),
        ("escalate", "response", TICKET_CREATED | {"status": "queued"}, "status"),
        ("escalate", "response", {"ticket_no": "T000001", "status": "new"}, "required"),
        ("escalate", "response", TICKET_CREATED | {"queue_position": -1}, "queue_position"),
        ("escalate", "response", TICKET_CREATED | {"next_opening": "明天九点"}, "next_opening"),
        ("escalate", "response", TICKET_CREATED | {"next_opening": "2026-12-04T09:00"}, "next"),
        ("tickets", "request", {"ticket_no": "DD 2026/12/03"}, "ticket_no"),
        ("tickets", "request", {"ticket_no": "DD-20261203-0007-0007-0007"}, "ticket_no"),
        ("tickets", "response", [PROGRESS | {"status": "open"}], "status"),
        ("tickets", "response", [{k: v for k, v in PROGRESS.items() if k != "assignee"}], "req"),
        ("tickets", "response", PROGRESS, "array"),
        ("diagnose", "request", {"amount": 320.5}, "amount"),
        ("diagnose", "response", CANNED_BY_REF["612300000001"] | {"code": "lost"}, "code"),
        ("diagnose", "response", CANNED_BY_REF["612300000001"] | {"next_steps": ["pray"]}, "0"),
        (
            "diagnose",
            "response",
            CANNED_BY_REF["612300000006"]
            | {"transactions": [CANNED_BY_REF["612300000006"]["transactions"][0] | {"id": "7"}]},
            "id",
        ),
        (
            "diagnose",
            "response",
            CANNED_BY_REF["612300000006"]
            | {
                "transactions": [
                    CANNED_BY_REF["612300000006"]["transactions"][0]
                    | {"settlement_date": "24/11/2026"}
                ]
            },
            "settlement_date",
        ),
        ("terminals", "response", [{k: v for k, v in TERMINAL.items() if k != "model"}], "mod"),
        ("terminals", "request", {"anything": 1}, "no input"),
    ],
)
def test_what_breaks_the_contract_is_rejected(
    endpoint: str, part: str, document: Any, complaint: str
) -> None:
    with pytest.raises(contract.ContractViolation) as caught:
        contract.check(endpoint, part, document)
    assert (caught.value.endpoint, caught.value.part) == (endpoint, part)
    assert complaint in str(caught.value)


def test_what_fits_the_contract_passes() -> None:
    contract.check_request("escalate", {"reason": "not_solved"})
    contract.check_request("escalate", {})  # the service defaults to merchant_request
    contract.check_request("tickets", {})
    contract.check_request("tickets", {"ticket_no": "DD-20261203-0007"})
    contract.check_response("escalate", TICKET_CREATED)
    contract.check_response(
        "escalate",
        TICKET_CREATED | {"offline": True, "next_opening": "2026-12-04T09:00:00+08:00"},
    )
    contract.check_response("tickets", [PROGRESS, PROGRESS | {"status": "new", "assignee": None}])
    contract.check_response("tickets", [])
    contract.check_response("terminals", [TERMINAL])


# --- in memory -------------------------------------------------------------------------------


def test_in_memory_the_fake_refuses_a_reason_the_service_refuses() -> None:
    fake = FakeDropDeskService()
    with pytest.raises(contract.ContractViolation):
        asyncio.run(fake.escalate("chat-1", "settlement_delayed"))
    assert fake.escalations == []


@pytest.mark.parametrize(
    "call",
    [
        lambda fake: fake.diagnose("chat-404", {"order_ref": "612300000001"}),
        lambda fake: fake.escalate("chat-404", "merchant_request"),
        lambda fake: fake.tickets("chat-404"),
        lambda fake: fake.terminals("chat-404"),
    ],
)
def test_in_memory_unknown_sessions_are_not_found(
    call: Callable[[FakeDropDeskService], Awaitable[Any]],
) -> None:
    fake = FakeDropDeskService()
    with pytest.raises(ServiceError, match="404"):
        asyncio.run(call(fake))
    fake.open_session("chat-404")
    asyncio.run(call(fake))  # known once the session is opened


def test_escalation_queues_the_session_and_reopens_its_ticket() -> None:
    fake = FakeDropDeskService({"chat-1": "m1", "chat-2": "m1"})
    first = asyncio.run(fake.escalate("chat-1", "merchant_request"))
    second = asyncio.run(fake.escalate("chat-2", "not_solved"))
    again = asyncio.run(fake.escalate("chat-1", "fallback"))
    assert (first["ticket_no"], first["queue_position"]) == ("DD-20261125-0001", 1)
    assert (second["ticket_no"], second["queue_position"], second["expected_wait_minutes"]) == (
        "DD-20261125-0002",
        2,
        10,
    )
    assert again["ticket_no"] == first["ticket_no"]
    assert first["offline"] is False and first["next_opening"] is None


def test_offline_escalation_names_the_next_opening() -> None:
    answer = asyncio.run(FakeDropDeskService(offline=True).escalate("chat-1", "needs_human"))
    assert answer["offline"] is True
    assert answer["next_opening"] == "2026-11-26T09:00:00+08:00"


def test_tickets_are_the_merchants_own_newest_first_at_most_three() -> None:
    fake = FakeDropDeskService()
    fake.open_session("chat-li", OTHER_MERCHANT)
    theirs = fake.add_ticket(merchant=OTHER_MERCHANT)
    mine = [fake.add_ticket(status=s) for s in ("closed", "resolved", "assigned", "new")]
    listed = asyncio.run(fake.tickets("chat-1"))
    assert [t["ticket_no"] for t in listed] == [t["ticket_no"] for t in reversed(mine[1:])]
    assert asyncio.run(fake.tickets("chat-1", theirs["ticket_no"])) == []
    [one] = asyncio.run(fake.tickets("chat-li", theirs["ticket_no"].lower()))
    assert one["ticket_no"] == theirs["ticket_no"]


# --- over HTTP -------------------------------------------------------------------------------


async def _serve(fake: FakeDropDeskService, scenario: Callable[[str], Awaitable[None]]) -> None:
    runner = web.AppRunner(make_app(fake))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        await scenario(f"http://{host}:{port}")
    finally:
        await runner.cleanup()


def over_http(fake: FakeDropDeskService, scenario: Callable[[str], Awaitable[None]]) -> None:
    asyncio.run(_serve(fake, scenario))


async def _status(base: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"} | kwargs.pop("headers", {})
    async with (
        ClientSession(headers=headers) as http,
        http.request(method, base + path, **kwargs) as response,
    ):
        return response.status, await response.json()


def test_over_http_the_client_and_the_fake_agree() -> None:
    fake = FakeDropDeskService()
    fake.add_ticket(status="assigned", assignee="小周")

    async def scenario(base: str) -> None:
        client = HttpDropDeskService(base, TOKEN)
        diagnosis = await client.diagnose("chat-1", {"order_ref": "612300000006"})
        assert diagnosis["code"] == "settled"
        ticket = await client.escalate("chat-1", "not_solved")
        assert ticket["queue_position"] == 1
        listed = await client.tickets("chat-1")
        assert [t["status"] for t in listed] == ["new", "assigned"]
        [one] = await client.tickets("chat-1", ticket["ticket_no"])
        assert one["ticket_no"] == ticket["ticket_no"]
        assert await client.terminals("chat-1") == [TERMINAL]

    over_http(fake, scenario)
    # The query parameter is sent only when a number is asked about.
    assert fake.ticket_lookups == [("chat-1", None), ("chat-1", "DD-20261125-0002")]


def test_over_http_errors_are_the_real_services() -> None:
    async def scenario(base: str) -> None:
        sessions = "/internal/v1/sessions"
        status, _ = await _status(base, "GET", f"{sessions}/chat-404/tickets")
        assert status == 404
        status, body = await _status(
            base, "POST", f"{sessions}/chat-1/escalations", json={"reason": "settlement"}
        )
        assert status == 422 and "reason" in body["detail"]
        status, _ = await _status(
            base, "GET", f"{sessions}/chat-1/tickets", params={"ticket_no": "DD 2026"}
        )
        assert status == 422
        status, _ = await _status(
            base, "GET", f"{sessions}/chat-1/terminals", headers={"Authorization": "Bearer x"}
        )
        assert status == 401
        client = HttpDropDeskService(base, TOKEN)
        with pytest.raises(ServiceError, match="404"):
            await client.escalate("chat-404", "merchant_request")
        status, _ = await _status(base, "POST", "/fake/sessions/chat-404")
        assert status == 201
        assert (await client.escalate("chat-404", "merchant_request"))["ticket_no"]

    over_http(FakeDropDeskService(), scenario)


def test_over_http_an_answer_breaking_the_contract_is_a_server_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = CANNED_BY_REF["612300000002"] | {"code": "lost"}
    monkeypatch.setitem(CANNED_BY_REF, "612300000002", broken)

    async def scenario(base: str) -> None:
        status, body = await _status(
            base,
            "POST",
            "/internal/v1/sessions/chat-1/diagnoses",
            json={"order_ref": "612300000002"},
        )
        assert status == 500 and "diagnose response breaks the contract" in body["detail"]

    over_http(FakeDropDeskService(), scenario)


def test_the_client_keeps_its_connection_to_the_service_between_calls() -> None:
    """A connection per call cost the service an accept, a new protocol and a close each time;
    idle connections are let go before uvicorn's 5 s keep-alive ends on its side."""
    from aiohttp import web

    from actions import service_client

    peers: list[object] = []

    async def terminals(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.json_response([TERMINAL])

    async def scenario() -> None:
        app = web.Application()
        app.router.add_get("/internal/v1/sessions/{sid}/terminals", terminals)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        client = HttpDropDeskService(f"http://127.0.0.1:{port}", TOKEN)
        try:
            for _ in range(5):
                assert await client.terminals("chat-1") == [TERMINAL]
        finally:
            await client.close()
            await runner.cleanup()

    asyncio.run(scenario())
    assert len(peers) == 5 and len(set(peers)) == 1
    assert service_client.KEEPALIVE_SECONDS < 5
