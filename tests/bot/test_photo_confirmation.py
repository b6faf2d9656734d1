"""What the service read on a photo is confirmed with the merchant before any of it is used."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import photo_confirmation
from actions.form_validation import ValidateDropForm
from actions.service_client import HttpDropDeskService, use_service

from . import contract
from .fake_service import TOKEN, BrokenDropDeskService, FakeDropDeskService, entity, make_tracker
from .test_actions_form_validation import DOMAIN, NOW, WINDOW_3PM
from .test_fake_service import over_http

SLIP = {
    "merchant_no": "865310054110001",
    "terminal_no": "10020001",
    "reference_no": "612300000001",
    "trace_no": "000101",
    "batch_no": "000117",
    "amount": "1320.50",
    "txn_time": "2026-11-25T15:10:42+08:00",
    "card_last4": "6688",
}
SCREEN = {
    "trace_no": "000123",
    "amount": "88.00",
    "txn_time": "2026-11-25T14:02:00+08:00",
    "response_code": "98",
    "response_text": "交易失败",
}
MINUTE = "2026-11-25T15:10:00+08:00/2026-11-25T15:11:00+08:00"
ASKED = "我从照片上看到：参考号 612300000001，¥1,320.50，时间 今天 15:10，卡号尾号 6688，对吗？"


@pytest.fixture
def fake() -> Iterator[FakeDropDeskService]:
    service = FakeDropDeskService()
    service.add_reading(7, SLIP)
    service.add_reading(8, SCREEN, kind="screen")
    use_service(service)
    yield service
    use_service(None)


def photo_turn(attachment_id: int, **tracker_args: Any) -> Any:
    """The turn the service gives the bot about a photo it read."""
    tracker = make_tracker(text="/photo_read", intent="photo_read", **tracker_args)
    tracker.latest_message["metadata"] = {
        "merchant_no": "865310054110001",
        "attachment_id": attachment_id,
    }
    return tracker


def run(tracker: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    action = ValidateDropForm()
    action.clock = staticmethod(lambda: NOW)  # type: ignore[method-assign]
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    slots: dict[str, Any] = {}
    for event in events:
        if event["event"] == "slot":
            slots[event["name"]] = event["value"]
    return slots, dispatcher.messages


def said(messages: list[dict[str, Any]]) -> list[str]:
    """The merchant's view: each response filled in with its variables."""
    texts = []
    for message in messages:
        if message.get("response"):
            template = DOMAIN["responses"][message["response"]][0]["text"]
            texts.append(template.format(**{k: v for k, v in message.items() if k != "response"}))
        elif message.get("text"):
            texts.append(message["text"])
    return texts


def waiting(attachment_id: int = 7, **slots: Any) -> dict[str, Any]:
    """Tracker arguments for a form waiting for the yes about a photo (held slots as events)."""
    held = {"pending_question": f"confirm_photo:{attachment_id}", **slots}
    return {
        "active_loop": "drop_form",
        "slots": held | {"requested_slot": "pending_question"},
        "events": [{"event": "slot", "name": n, "value": v} for n, v in held.items()],
    }


def filled(slots: dict[str, Any]) -> dict[str, Any]:
    return {k: slots.get(k) for k in photo_confirmation.SLOTS}


# --- the question -------------------------------------------------------------------------


def test_a_photo_is_confirmed_in_one_message_and_nothing_is_filled(
    fake: FakeDropDeskService,
) -> None:
    slots, messages = run(photo_turn(7))
    assert said(messages) == [ASKED]
    assert messages[0]["response"] == "utter_confirm_photo"
    assert slots["pending_question"] == "confirm_photo:7"
    assert slots["requested_slot"] == "pending_question"  # the form waits, asks nothing else
    assert not any(filled(slots).values())
    assert fake.reading_lookups == [("chat-1", 7)]


def test_the_confirmation_has_yes_and_no_buttons() -> None:
    (response,) = DOMAIN["responses"]["utter_confirm_photo"]
    assert [(b["title"], b["payload"]) for b in response["buttons"]] == [
        ("对", "/affirm"),
        ("不对", "/deny"),
    ]


def test_a_screen_photo_names_the_trace_and_the_failure(fake: FakeDropDeskService) -> None:
    _, messages = run(photo_turn(8))
    assert said(messages) == [
        "我从照片上看到：凭证号 000123，¥88.00，时间 今天 14:02，交易失败（应答码 98），对吗？"
    ]


def test_a_photo_after_a_diagnosis_is_a_new_drop(fake: FakeDropDeskService) -> None:
    earlier = {
        "order_ref": "612300000004",
        "txn_time": WINDOW_3PM,
        "amount": "320.50",
        "card_last4": "1234",
        "diagnosis_code": "not_found",
    }
    tracker = photo_turn(
        7,
        slots=earlier,
        events=[{"event": "slot", "name": n, "value": v} for n, v in earlier.items()],
    )
    slots, messages = run(tracker)
    assert said(messages) == [ASKED]
    # The earlier drop's details are gone; the photo's wait for the yes.
    assert filled(slots) | {"terminal_no": None, "screen_shown": None} == dict.fromkeys(
        photo_confirmation.SLOTS
    )
    assert slots["pending_question"] == "confirm_photo:7"


def test_a_photo_while_the_form_asks_joins_it(fake: FakeDropDeskService) -> None:
    held = {"txn_time": WINDOW_3PM, "requested_slot": "amount"}
    tracker = photo_turn(
        7,
        active_loop="drop_form",
        slots=held,
        events=[{"event": "slot", "name": "txn_time", "value": WINDOW_3PM}],
    )
    slots, messages = run(tracker)
    assert said(messages) == [ASKED]
    assert "txn_time" not in slots  # what was typed stays
    assert slots["requested_slot"] == "pending_question"


def test_a_second_photo_replaces_the_first(fake: FakeDropDeskService) -> None:
    tracker = photo_turn(8, **waiting(7))
    slots, messages = run(tracker)
    assert slots["pending_question"] == "confirm_photo:8"
    assert said(messages)[0].startswith("我从照片上看到：凭证号 000123")


def test_a_photo_replaces_an_amount_waiting(fake: FakeDropDeskService) -> None:
    tracker = photo_turn(
        7,
        active_loop="drop_form",
        slots={"pending_question": "confirm_amount:1500.00", "requested_slot": "pending_question"},
    )
    slots, messages = run(tracker)
    assert slots["pending_question"] == "confirm_photo:7"
    assert said(messages) == [ASKED]


def test_a_photo_the_service_cannot_give_asks_for_the_details_typed() -> None:
    use_service(BrokenDropDeskService())  # type: ignore[arg-type]
    try:
        slots, messages = run(photo_turn(7))
    finally:
        use_service(None)
    assert [m["response"] for m in messages] == ["utter_photo_unavailable"]
    assert slots["pending_question"] is None
    assert slots["requested_slot"] == "pending_question"  # one message: the form adds none


def test_a_photo_not_read_asks_for_the_details_typed(fake: FakeDropDeskService) -> None:
    slots, messages = run(photo_turn(99))
    assert [m["response"] for m in messages] == ["utter_photo_unavailable"]
    assert not any(filled(slots).values())


# --- the answer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"), [("对", "affirm"), ("/affirm", "affirm"), ("是的", "nlu_fallback")]
)
def test_a_yes_fills_the_form_from_the_photo_and_looks(
    fake: FakeDropDeskService, text: str, intent: str
) -> None:
    slots, messages = run(make_tracker(text=text, intent=intent, **waiting()))
    assert messages == []
    assert filled(slots) == {
        "order_ref": "612300000001",
        "amount": "1320.50",
        "txn_time": MINUTE,
        "card_last4": "6688",
        "terminal_no": "10020001",
        "screen_shown": None,
    }
    assert slots["pending_question"] is None
    assert slots["requested_slot"] is None  # a reference: the form completes, the diagnosis looks


def test_a_yes_to_a_screen_uses_the_trace_and_what_it_showed(fake: FakeDropDeskService) -> None:
    slots, _ = run(make_tracker(text="对的", intent="affirm", **waiting(8)))
    assert slots["order_ref"] == "000123"
    assert slots["screen_shown"] == "failure"
    assert slots["amount"] == "88.00"
    assert slots["txn_time"] == "2026-11-25T14:02:00+08:00/2026-11-25T14:03:00+08:00"


def test_a_yes_never_overwrites_what_was_typed(fake: FakeDropDeskService) -> None:
    slots, _ = run(
        make_tracker(text="对", intent="affirm", **waiting(amount="1300.00", txn_time=WINDOW_3PM))
    )
    assert slots["order_ref"] == "612300000001"
    assert "amount" not in slots and "txn_time" not in slots  # the typed ones stay


@pytest.mark.parametrize(("text", "intent"), [("不对", "deny"), ("/deny", "deny")])
def test_a_no_drops_the_photo_and_asks_for_the_details_typed(
    fake: FakeDropDeskService, text: str, intent: str
) -> None:
    slots, messages = run(make_tracker(text=text, intent=intent, **waiting()))
    assert said(messages) == [
        "好的，照片上的信息不用了。请直接打字告诉我参考号（或凭证号）、金额和交易时间，"
        "比如“参考号612300000001，268元，今天下午3点”。"
    ]
    assert slots["pending_question"] is None
    assert slots["requested_slot"] == "pending_question"
    assert not any(filled(slots).values())


def test_a_no_with_enough_typed_looks_with_the_typed_details(fake: FakeDropDeskService) -> None:
    slots, messages = run(
        make_tracker(text="不是", intent="deny", **waiting(amount="320.50", txn_time=WINDOW_3PM))
    )
    assert messages == []
    assert slots["pending_question"] is None
    assert slots["order_ref"] == "unknown"  # a time and an amount: enough to look
    assert "requested_slot" not in slots or slots["requested_slot"] != "pending_question"


def test_a_reference_typed_meanwhile_wins(fake: FakeDropDeskService) -> None:
    tracker = make_tracker(
        text="参考号是612300000003",
        intent="inform",
        entities=[entity("order_ref", "612300000003")],
        candidates={"order_ref": "612300000003"},
        **waiting(),
    )
    slots, messages = run(tracker)
    assert slots["order_ref"] == "612300000003"
    assert slots["pending_question"] is None
    assert "amount" not in slots and "card_last4" not in slots  # nothing from the photo
    assert messages == []


def test_an_amount_typed_meanwhile_wins(fake: FakeDropDeskService) -> None:
    tracker = make_tracker(
        text="不对，金额是1300元",
        intent="correct_info",
        entities=[entity("amount", "1300元")],
        candidates={"amount": "1300元"},
        **waiting(),
    )
    slots, _ = run(tracker)
    assert slots["amount"] == "1300.00"
    assert slots["pending_question"] is None
    assert slots.get("order_ref") in (None, "unknown")


def test_an_amount_typed_unsure_meanwhile_is_confirmed_instead(fake: FakeDropDeskService) -> None:
    slots, messages = run(make_tracker(text="金额是壹仟伍元", intent="inform", **waiting()))
    assert slots["pending_question"] == "confirm_amount:1500.00"
    assert [m["response"] for m in messages] == ["utter_confirm_amount"]


def test_a_question_meanwhile_is_answered_and_the_photo_keeps_waiting(
    fake: FakeDropDeskService,
) -> None:
    slots, messages = run(make_tracker(text="退款多久到账", intent="ask_refund_time", **waiting()))
    # Only the requested slot: the form steps aside for the question's rule, then waits again.
    assert slots == {"requested_slot": "pending_question"}
    assert messages == []


def test_something_unclear_meanwhile_asks_again(fake: FakeDropDeskService) -> None:
    slots, messages = run(make_tracker(text="嗯嗯啊", intent="nlu_fallback", **waiting()))
    assert said(messages) == [ASKED]
    assert slots["pending_question"] == "confirm_photo:7"
    assert not any(filled(slots).values())


# --- the contract -------------------------------------------------------------------------


def test_a_reading_that_breaks_the_contract_is_refused() -> None:
    with pytest.raises(contract.ContractViolation, match="reference_no"):
        FakeDropDeskService().add_reading(1, {"reference_no": "6123"})


def test_over_http_a_reading_is_fetched_and_an_unread_photo_is_none() -> None:
    fake = FakeDropDeskService()
    fake.add_reading(7, SLIP)

    async def scenario(base: str) -> None:
        client = HttpDropDeskService(base, TOKEN)
        reading = await client.reading("chat-1", 7)
        assert reading is not None and reading["fields"]["reference_no"] == "612300000001"
        assert await client.reading("chat-1", 8) is None

    over_http(fake, scenario)
