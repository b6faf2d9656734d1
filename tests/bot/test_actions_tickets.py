"""action_ticket_status: where the merchant's tickets stand, in their words."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import service_client, vocabulary
from actions.normalise.timewindow import shanghai
from actions.tickets import ActionTicketStatus

from .fake_service import (
    NOW,
    OTHER_MERCHANT,
    BrokenDropDeskService,
    FakeDropDeskService,
    entity,
    make_tracker,
)

EARLIER = dt.datetime(2026, 11, 24, 10, 5, tzinfo=shanghai())


@pytest.fixture()
def fake() -> Any:
    service = FakeDropDeskService()
    service_client.use_service(service)
    yield service
    service_client.use_service(None)


def ask(text: str = "我的工单怎么样了", **tracker_args: Any) -> list[dict[str, Any]]:
    action = ActionTicketStatus()
    action.clock = staticmethod(lambda: NOW)  # type: ignore[method-assign]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text=text, intent="ask_ticket_status", **tracker_args)
    assert asyncio.run(action.run(dispatcher, tracker, {})) == []
    return dispatcher.messages


def test_an_assigned_ticket_names_the_agent_and_the_last_update(
    fake: FakeDropDeskService,
) -> None:
    fake.add_ticket(status="assigned", assignee="小周", created_at=EARLIER, updated_at=NOW)
    [message] = ask()
    assert message["response"] == "utter_ticket_status"
    assert message["ticket_no"] == "DD-20261124-0001"
    assert message["ticket_status"] == vocabulary.ticket_statuses()["assigned"]
    assert message["assignee"] == "小周"
    # The service's last_update repeats the status here: only the time is worth saying.
    assert message["last_update"] == "今天 16:30"
    assert fake.ticket_lookups == [("chat-1", None)]


def test_a_queued_ticket_says_its_place_and_that_nobody_has_it_yet(
    fake: FakeDropDeskService,
) -> None:
    fake.add_ticket(merchant=OTHER_MERCHANT, session="chat-li")  # ahead in the same queue
    fake.add_ticket(updated_at=NOW + dt.timedelta(minutes=1))
    [message] = ask()
    assert message["ticket_status"] == "已登记，排队等待人工客服，现在排第 2 位"
    assert message["assignee"] == "还没分配"


def test_a_last_update_that_adds_something_is_said(fake: FakeDropDeskService) -> None:
    fake.add_ticket(
        status="waiting_merchant",
        assignee="小周",
        updated_at=EARLIER,
        last_update="请补充签购单照片",
    )
    [message] = ask()
    assert message["ticket_status"] == "客服在等您补充信息"
    assert message["last_update"] == "昨天 10:05，请补充签购单照片"


def test_the_number_asked_about_is_looked_up(fake: FakeDropDeskService) -> None:
    wanted = fake.add_ticket(status="resolved", assignee="小周", created_at=EARLIER)
    fake.add_ticket(status="new")
    [message] = ask(
        "工单号 dd-20261124-0001 处理到哪了",
        entities=[entity("ticket_no", "dd-20261124-0001")],
    )
    assert fake.ticket_lookups == [("chat-1", "DD-20261124-0001")]
    assert (message["ticket_no"], message["ticket_status"]) == (wanted["ticket_no"], "已处理完毕")


def test_a_number_the_nlu_missed_is_read_from_the_text(fake: FakeDropDeskService) -> None:
    fake.add_ticket(status="closed")
    [message] = ask("ＤＤ－２０２６１１２５－０００１这个怎么样了")
    assert fake.ticket_lookups == [("chat-1", "DD-20261125-0001")]
    assert message["ticket_status"] == "已结束"


def test_older_tickets_are_listed_in_one_line(fake: FakeDropDeskService) -> None:
    fake.add_ticket(status="closed", created_at=EARLIER)
    fake.add_ticket(status="resolved", created_at=EARLIER)
    fake.add_ticket(status="assigned", assignee="小周")
    newest, older = ask()
    assert newest["ticket_no"] == "DD-20261125-0001"
    assert older["response"] == "utter_ticket_status_older"
    assert older["older"] == "DD-20261124-0002（已处理完毕）；DD-20261124-0001（已结束）"


def test_no_tickets_offers_a_person(fake: FakeDropDeskService) -> None:
    assert [m["response"] for m in ask()] == ["utter_no_tickets"]


def test_another_merchants_number_finds_nothing(fake: FakeDropDeskService) -> None:
    fake.open_session("chat-li", OTHER_MERCHANT)
    theirs = fake.add_ticket(merchant=OTHER_MERCHANT, session="chat-li")
    [message] = ask(f"工单号 {theirs['ticket_no']} 处理到哪了")
    assert fake.ticket_lookups == [("chat-1", theirs["ticket_no"])]
    assert message["response"] == "utter_ticket_not_found"
    assert theirs["ticket_no"] not in str(message)  # not even repeated back


def test_service_down_apologises() -> None:
    service_client.use_service(BrokenDropDeskService())
    try:
        messages = ask()
    finally:
        service_client.use_service(None)
    assert [m["response"] for m in messages] == ["utter_ticket_status_unavailable"]


def test_an_unknown_session_apologises(fake: FakeDropDeskService) -> None:
    messages = ask(sender_id="chat-404")
    assert [m["response"] for m in messages] == ["utter_ticket_status_unavailable"]
