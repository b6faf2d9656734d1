"""validate_drop_form: normalise what the merchant says, however it is said."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.utils.io import read_yaml_file
from rasa_sdk.executor import CollectingDispatcher

from actions.form_validation import ValidateDropForm
from actions.normalise.timewindow import shanghai

from .fake_service import entity, make_tracker

NOW = dt.datetime(2026, 11, 25, 16, 30, tzinfo=shanghai())
DOMAIN: dict[str, Any] = read_yaml_file(Path(__file__).parents[2] / "bot" / "domain.yml")
WINDOW_3PM = "2026-11-25T15:00:00+08:00/2026-11-25T16:00:00+08:00"
TODAY = "2026-11-25"


def validate(active: bool = True, **tracker_args: Any) -> tuple[dict[str, Any], list[str | None]]:
    action = ValidateDropForm()
    action.clock = staticmethod(lambda: NOW)  # type: ignore[method-assign]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(active_loop="drop_form" if active else None, **tracker_args)
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    return slots, [m.get("response") for m in dispatcher.messages]


def test_all_three_in_one_message_are_normalised() -> None:
    text = "参考号612300000001 今天下午三点 320块5"
    slots, responses = validate(
        active=False,
        text=text,
        entities=[entity("order_ref", "612300000001"), entity("amount", "320块5")],
        candidates={"order_ref": "612300000001", "amount": "320块5"},
    )
    assert slots["order_ref"] == "612300000001"
    assert slots["amount"] == "320.50"
    assert slots["txn_time"] == WINDOW_3PM  # the NLU missed the time; the text has it
    assert slots["fallback_count"] == 0.0
    assert responses == []


@pytest.mark.parametrize(
    ("said", "normalised"),
    [
        ("三百二十元", "320.00"),
        ("¥1,280.00", "1280.00"),
        ("两千三百元整", "2300.00"),
        ("1.2万", "12000.00"),
        ("三块五", "3.50"),
        ("￥88", "88.00"),
    ],
)
def test_amounts(said: str, normalised: str) -> None:
    slots, _ = validate(
        text=said,
        intent="inform",
        entities=[entity("amount", said)],
        candidates={"amount": said},
        slots={"requested_slot": "amount"},
    )
    assert slots["amount"] == normalised


@pytest.mark.parametrize(
    ("said", "window"),
    [
        ("昨天下午三点", "2026-11-24T15:00:00+08:00/2026-11-24T16:00:00+08:00"),
        ("11月20日 14:05", "2026-11-20T14:05:00+08:00/2026-11-20T14:06:00+08:00"),
        ("半小时前", "2026-11-25T15:45:00+08:00/2026-11-25T16:15:00+08:00"),
    ],
)
def test_times_become_iso_intervals(said: str, window: str) -> None:
    slots, _ = validate(
        text=said,
        intent="inform",
        entities=[entity("txn_time", said)],
        candidates={"txn_time": said},
    )
    assert slots["txn_time"] == window


def test_unreadable_amount_is_rejected_with_a_reason() -> None:
    slots, responses = validate(
        text="好多钱",
        intent="inform",
        entities=[entity("amount", "好多")],
        candidates={"amount": "好多"},
    )
    assert slots["amount"] is None
    assert responses == ["utter_invalid_amount"]


def test_no_reference_is_kept_as_unknown() -> None:
    slots, responses = validate(
        text="没有单号", intent="dont_know_ref", candidates={"order_ref": "unknown"}
    )
    assert slots["order_ref"] == "unknown"
    assert responses == []


def test_no_reference_inside_a_report_is_kept_as_unknown() -> None:
    slots, _ = validate(
        active=False,
        text="四个小时前刷了66元，没有单号，不知道顾客付没付",
        intent="report_drop",
        entities=[entity("amount", "66元")],
        candidates={"amount": "66元"},
    )
    assert slots["order_ref"] == "unknown"
    assert slots["amount"] == "66.00"


def test_time_and_amount_are_enough_without_a_reference() -> None:
    # Merchants rarely say "没有单号": a time and an amount complete the form.
    slots, responses = validate(
        active=False,
        text="两个小时前有个顾客刷五十六块五 机器说交易失败",
        intent="report_drop",
        entities=[entity("amount", "五十六块五")],
        candidates={"amount": "五十六块五"},
    )
    assert slots["amount"] == "56.50"
    assert slots["txn_time"]
    assert slots["order_ref"] == "unknown"
    assert responses == []


def test_a_time_alone_still_asks_for_the_reference() -> None:
    slots, _ = validate(active=False, text="两个小时前刷卡失败了", intent="report_drop")
    assert slots.get("order_ref") is None


def test_no_to_the_reference_question_means_unknown() -> None:
    slots, _ = validate(text="没有", intent="deny", slots={"requested_slot": "order_ref"})
    assert slots["order_ref"] == "unknown"


def test_correction_replaces_the_amount() -> None:
    slots, _ = validate(
        active=False,
        text="不对，金额是380",
        intent="correct_info",
        entities=[entity("amount", "380")],
        slots={"order_ref": "612300000001", "txn_time": WINDOW_3PM, "amount": "320.50"},
        candidates={"order_ref": "612300000001", "txn_time": WINDOW_3PM, "amount": "380"},
    )
    assert slots["amount"] == "380.00"
    assert slots["order_ref"] == "612300000001"
    assert slots["txn_time"] == WINDOW_3PM


def test_correction_the_nlu_missed_is_read_from_the_text() -> None:
    slots, _ = validate(
        active=False,
        text="时间说错了，是下午两点",
        intent="correct_info",
        slots={"order_ref": "612300000001", "txn_time": WINDOW_3PM, "amount": "320.50"},
    )
    assert slots["txn_time"] == "2026-11-25T14:00:00+08:00/2026-11-25T15:00:00+08:00"
    assert "amount" not in slots


@pytest.mark.parametrize(
    ("said", "normalised"),
    [("我刚才说成320.5了 其实是256", "256.00"), ("不是320.50，是230.50", "230.50")],
)
def test_correction_naming_the_old_amount_the_nlu_missed(said: str, normalised: str) -> None:
    # No money word, no amount entity: taking back the current amount says which slot it is.
    slots, _ = validate(
        active=False,
        text=said,
        intent="correct_info",
        slots={"order_ref": "612300000001", "txn_time": WINDOW_3PM, "amount": "320.50"},
    )
    assert slots["amount"] == normalised
    assert "txn_time" not in slots


def test_a_bare_number_correction_leaves_the_amount_alone() -> None:
    slots, _ = validate(
        active=False,
        text="不是三点，是四点",
        intent="correct_info",
        slots={"order_ref": "612300000001", "txn_time": WINDOW_3PM, "amount": "320.50"},
    )
    assert "amount" not in slots


@pytest.mark.parametrize(
    ("slot", "said", "heard", "normalised"),
    [
        ("amount", "是88元不是八百八", ["88元", "八百八"], "88.00"),
        ("amount", "金额不对 不是500 应该是580", ["500", "580"], "580.00"),
        ("amount", "不是500是580", ["500", "580"], "580.00"),
        ("amount", "更正：金额不是３２０，是３８０块", ["３２０", "３８０块"], "380.00"),
        ("amount", "是¥1,500 刚才说成1,050了", ["¥1,500", "1,050"], "1500.00"),
        ("amount", "刚才说的990不对 是99", ["990", "99"], "99.00"),
        ("amount", "不是八百八啊 是88元", ["八百八", "88元"], "88.00"),
        ("amount", "我打成1280了 其实是128", ["1280", "128"], "128.00"),
        ("amount", "不是1,820，是1,280元", ["1,820", "1,280元"], "1280.00"),
        (
            "txn_time",
            "是今天早上 我刚说成昨天了",
            ["今天早上", "昨天"],
            f"{TODAY}T06:00:00+08:00/{TODAY}T10:00:00+08:00",
        ),
        (
            "txn_time",
            "我记成前天了，是昨天",
            ["前天", "昨天"],
            "2026-11-24T00:00:00+08:00/2026-11-25T00:00:00+08:00",
        ),
        (
            "txn_time",
            "不是下午 是上午",
            ["下午", "上午"],
            f"{TODAY}T08:00:00+08:00/{TODAY}T12:00:00+08:00",
        ),
        (
            "txn_time",
            "不是昨天是前天",
            ["前天"],
            "2026-11-23T00:00:00+08:00/2026-11-24T00:00:00+08:00",
        ),
    ],
)
def test_correction_takes_the_new_value_not_the_one_taken_back(
    slot: str, said: str, heard: list[str], normalised: str
) -> None:
    before = {"order_ref": "612300000001", "txn_time": WINDOW_3PM, "amount": "320.50"}
    slots, responses = validate(
        active=False,
        text=said,
        intent="correct_info",
        entities=[entity(slot, value) for value in heard],
        slots=before,
        candidates={**before, slot: heard},
    )
    assert slots[slot] == normalised
    assert f"utter_invalid_{slot}" not in responses


@pytest.mark.parametrize(
    ("said", "heard", "normalised"),
    [
        ("刚才刷了320块5，机器显示超时", "320块", "320.50"),
        ("一共1,280.00 顾客说扣了", "1,280", "1280.00"),
        ("两百五十块钱的那笔", "两百五十", "250.00"),
    ],
)
def test_an_amount_the_nlu_cut_short_is_read_to_the_end(
    said: str, heard: str, normalised: str
) -> None:
    slots, _ = validate(text=said, entities=[entity("amount", heard)], candidates={"amount": heard})
    assert slots["amount"] == normalised


def test_when_the_merchant_spoke_is_not_the_payment_time() -> None:
    before = [{"event": "slot", "name": "txn_time", "value": WINDOW_3PM}]
    slots, responses = validate(
        active=False,
        text="我刚才说成88了 其实是256",
        intent="correct_info",
        events=before,
        entities=[entity("txn_time", "刚才"), entity("amount", "88"), entity("amount", "256")],
        slots={"order_ref": "612300000001", "txn_time": WINDOW_3PM, "amount": "88.00"},
        candidates={"txn_time": "刚才", "amount": ["88", "256"]},
    )
    assert slots["txn_time"] == WINDOW_3PM
    assert slots["amount"] == "256.00"
    assert "utter_invalid_txn_time" not in responses


def test_taking_the_amount_back_without_a_new_one_asks_again_without_complaint() -> None:
    slots, responses = validate(
        active=False,
        text="金额不是320.5",
        intent="correct_info",
        entities=[entity("amount", "320.5")],
        slots={"order_ref": "612300000001", "txn_time": WINDOW_3PM, "amount": "320.50"},
        candidates={"order_ref": "612300000001", "txn_time": WINDOW_3PM, "amount": "320.5"},
    )
    assert slots["amount"] is None
    assert "utter_invalid_amount" not in responses


def test_bare_card_digits_answer_the_card_question_not_the_amount() -> None:
    before = [
        {"event": "slot", "name": "amount", "value": "320.50"},
        {"event": "slot", "name": "pending_question", "value": "card_last4"},
    ]
    slots, _ = validate(
        active=False,
        text="6688",
        intent="inform",
        events=before,
        entities=[entity("amount", "6688")],
        slots={"order_ref": "unknown", "txn_time": WINDOW_3PM, "pending_question": "card_last4"},
        candidates={"amount": "6688"},
    )
    assert slots["amount"] == "320.50"
    assert slots["card_last4"] == "6688"


def test_card_tail_from_text() -> None:
    slots, _ = validate(text="顾客卡尾号是0937", intent="inform")
    assert slots["card_last4"] == "0937"


def test_a_new_report_forgets_the_previous_transaction() -> None:
    slots, _ = validate(
        active=False,
        text="又有一笔刷卡失败了",
        intent="report_drop",
        slots={"card_last4": "6688"},
        candidates={"order_ref": "612300000001", "txn_time": WINDOW_3PM, "amount": "320.50"},
    )
    assert slots["order_ref"] is None
    assert slots["txn_time"] is None
    assert slots["amount"] is None
    assert slots["card_last4"] is None


def test_a_ticket_question_in_the_form_fills_nothing() -> None:
    """昨天 is when the ticket was opened, 20261203 part of its number: the form keeps waiting."""
    text = "昨天转人工那个工单 DD-20261203-0007 有人管吗"
    slots, responses = validate(
        text=text,
        intent="ask_ticket_status",
        entities=[entity("order_ref", "20261203"), entity("txn_time", "昨天")],
        candidates={"order_ref": "20261203", "txn_time": "昨天"},
        slots={"requested_slot": "order_ref", "amount": "320.50"},
        events=[{"event": "slot", "name": "amount", "value": "320.50"}],
    )
    assert slots.get("order_ref") is None
    assert slots.get("txn_time") is None
    assert slots.get("amount", "320.50") == "320.50"
    assert "card_last4" not in slots
    assert responses == []


def test_the_same_words_as_a_drop_detail_still_count() -> None:
    """Only the ticket question is skipped: the same time said as an answer fills the slot."""
    slots, _ = validate(
        text="昨天下午三点",
        intent="inform",
        entities=[entity("txn_time", "昨天下午三点")],
        candidates={"txn_time": "昨天下午三点"},
        slots={"requested_slot": "txn_time"},
    )
    assert slots["txn_time"] == "2026-11-24T15:00:00+08:00/2026-11-24T16:00:00+08:00"


def test_a_ticket_number_taken_for_details_is_dropped_without_complaint() -> None:
    """A full-width DD-… read as inform, its digits tagged: nothing to fill, no scolding."""
    text = "ＤＤ－２０２６１２０３－０００７怎么样了"
    slots, responses = validate(
        active=False,
        text=text,
        intent="inform",
        entities=[entity("amount", "２０２６１２０３"), entity("order_ref", "０００７")],
        candidates={"amount": "２０２６１２０３", "order_ref": "０００７"},
    )
    assert slots.get("amount") is None and slots.get("order_ref") is None
    assert "utter_invalid_amount" not in responses
    assert "utter_invalid_order_ref" not in responses


# --- issue 20: the form's memory ----------------------------------------------------------

DIAGNOSED = {
    "order_ref": "612300000001",
    "txn_time": WINDOW_3PM,
    "amount": "320.50",
    "diagnosis_code": "approved_not_printed",
}


def test_a_reference_alone_is_enough_to_look() -> None:
    slots, responses = validate(
        active=False,
        text="参考号612300000001",
        entities=[entity("order_ref", "612300000001")],
        candidates={"order_ref": "612300000001"},
    )
    assert slots["order_ref"] == "612300000001"
    assert slots["requested_slot"] is None  # the form ends here: no time or amount demanded
    assert responses == []


@pytest.mark.parametrize("text", ["顾客不信 非说没付成功", "到底扣没扣 要不要让他再刷"])
def test_push_back_after_a_diagnosis_keeps_the_drop(text: str) -> None:
    slots, _ = validate(active=False, text=text, intent="report_drop", slots=DIAGNOSED)
    for name in ("order_ref", "txn_time", "amount"):
        assert slots.get(name, DIAGNOSED[name]) == DIAGNOSED[name], name


@pytest.mark.parametrize(("text", "intent"), [("还有一笔 100块", "inform"),
                                               ("又掉了一单 100块", "report_drop")])  # fmt: skip
def test_another_drop_starts_from_nothing(text: str, intent: str) -> None:
    slots, _ = validate(
        active=False,
        text=text,
        intent=intent,
        entities=[entity("amount", "100块")],
        candidates={"amount": "100块"},
        slots=DIAGNOSED,
    )
    assert slots["amount"] == "100.00"
    assert slots["order_ref"] is None and slots["txn_time"] is None


@pytest.mark.parametrize(
    ("clock", "window"),
    [
        ("下午两点左右", "2026-11-20T13:30:00+08:00/2026-11-20T15:30:00+08:00"),
        ("14:05", "2026-11-20T14:05:00+08:00/2026-11-20T14:06:00+08:00"),
    ],
)
def test_a_clock_time_said_later_lands_on_the_day_said_before(clock: str, window: str) -> None:
    day = "2026-11-20T00:00:00+08:00/2026-11-21T00:00:00+08:00"
    said_before = [{"event": "slot", "name": "txn_time", "value": day}]
    slots, _ = validate(
        text=clock,
        intent="inform",
        entities=[entity("txn_time", clock)],
        candidates={"txn_time": clock},
        slots={"txn_time": day, "requested_slot": "amount"},
        events=said_before,
    )
    assert slots["txn_time"] == window


def test_which_terminal_and_what_the_screen_showed_are_read_when_asked() -> None:
    held = {**DIAGNOSED, "order_ref": "unknown", "diagnosis_code": "ambiguous"}
    slots, _ = validate(active=False, text="是31001102那台", intent="inform",
                        slots={**held, "pending_question": "terminal"})  # fmt: skip
    assert slots["terminal_no"] == "31001102"
    assert slots.get("order_ref", "unknown") == "unknown"
    slots, _ = validate(active=False, text="当时显示超时了", intent="inform",
                        slots={**held, "pending_question": "screen"})  # fmt: skip
    assert slots["screen_shown"] == "failure"


@pytest.mark.parametrize(
    ("text", "heard"),
    [
        ("继续刚才的 金额268", None),
        ("刚刚忘了说 1580", None),
        ("刚才那笔顾客说扣了 怎么办", "刚才"),
    ],
)
def test_words_about_this_conversation_are_no_time(text: str, heard: str | None) -> None:
    day = "2026-11-24T15:00:00+08:00/2026-11-24T16:00:00+08:00"
    slots, _ = validate(
        text=text,
        intent="inform",
        entities=[entity("txn_time", heard)] if heard else [],
        candidates={"txn_time": heard} if heard else {},
        slots={"txn_time": day, "requested_slot": "amount"},
        events=[{"event": "slot", "name": "txn_time", "value": day}],
    )
    assert slots.get("txn_time", day) == day


@pytest.mark.parametrize(
    ("held", "text", "intent", "slot", "expected"),
    [
        ("268.00", "589不对 598才对", "correct_info", "amount", "598.00"),
        ("186.00", "应该是一百六十八", "inform", "amount", "168.00"),
        ("458.00", "改成660", "inform", "amount", "660.00"),
        (
            "2026-11-24T19:30:00+08:00/2026-11-24T19:31:00+08:00",
            "改成八点三十五 我看错了",
            "inform",
            "txn_time",
            "2026-11-24T20:35:00+08:00/2026-11-24T20:36:00+08:00",
        ),
    ],
)
def test_corrections_replace_the_value_whatever_the_intent(
    held: str, text: str, intent: str, slot: str, expected: str
) -> None:
    values = {**DIAGNOSED, slot: held}
    slots, _ = validate(active=False, text=text, intent=intent, slots=values,
                        events=[{"event": "slot", "name": slot, "value": held}])  # fmt: skip
    assert slots[slot] == expected


def test_a_correction_of_the_time_keeps_the_amount() -> None:
    slots, _ = validate(active=False, text="改成八点三十五", intent="correct_info", slots=DIAGNOSED)
    assert slots.get("amount", DIAGNOSED["amount"]) == DIAGNOSED["amount"]


def test_another_drop_with_a_bare_amount_replaces_the_old_one() -> None:
    slots, _ = validate(
        active=False, text="另外一笔 昨晚八点半左右 458 包间的", intent="inform", slots=DIAGNOSED
    )
    assert slots["amount"] == "458.00"
    assert slots["order_ref"] == "unknown"  # the old drop's reference is gone


@pytest.mark.parametrize(
    "text", ["现在顾客打电话说卡上还是扣了320.5 咋回事", "刚才那笔顾客说扣了 怎么办"]
)
def test_a_follow_up_repeating_what_we_hold_stays_on_the_drop(text: str) -> None:
    slots, _ = validate(active=False, text=text, intent="report_drop", slots=DIAGNOSED)
    for name in ("order_ref", "txn_time", "amount"):
        assert slots.get(name, DIAGNOSED[name]) == DIAGNOSED[name], name


def test_a_terminal_number_tagged_as_a_reference_is_not_one() -> None:
    held = {**DIAGNOSED, "order_ref": "unknown", "diagnosis_code": "ambiguous"}
    text = "记不清几分了 是外卖窗口那台 终端号31001102"
    slots, _ = validate(
        active=False,
        text=text,
        intent="report_drop",
        entities=[entity("order_ref", "31001102")],
        candidates={"order_ref": "31001102"},
        slots={**held, "pending_question": "time"},
    )
    assert slots["terminal_no"] == "31001102"
    assert slots.get("order_ref") in (None, "unknown")


def test_two_references_under_one_label_wait_their_turn() -> None:
    slots, _ = validate(
        active=False, text="两个凭证号 000231 000205 都没到账", intent="report_drop"
    )
    assert slots["order_ref"] == "000231"
    assert slots["other_refs"] == ["000205"]
    back, _ = validate(
        active=False,
        text="那另一笔呢",
        intent="inform",
        slots={"order_ref": "000231", "other_refs": ["000205"], "diagnosis_code": "settled"},
    )
    assert back["order_ref"] == "000205"  # action_diagnose then takes it off the list
