"""What merchants type on phones, folded into what the bot reads, and what names a transaction."""

from __future__ import annotations

import pytest

from actions.normalise import find_references, parse_amount, parse_reference
from actions.normalise.spelling import SLIPS, fold
from bot.components.transaction_talk import names_a_transaction


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("我这掉担了 是不是充正了", "我这掉单了 是不是冲正了"),
        ("凭正号000188 参考好613301000233", "凭证号000188 参考号613301000233"),
        ("钱没到帐 前天给她做了退或", "钱没到账 前天给她做了退货"),
        ("顧客說錢扣了 機器顯示交易失敗", "顾客说钱扣了 机器显示交易失败"),
        ("参考号六一三三一一零零零四一五", "参考号613311000415"),
        ("凭证号 六幺三三幺三 零零零二幺八", "凭证号 613313 000218"),
        # amounts and times keep their units, so they are not spelled digits
        ("一千零三十六 昨天下午三点", "一千零三十六 昨天下午三点"),
    ],
)
def test_fold(typed: str, meant: str) -> None:
    assert fold(typed) == meant
    assert len(fold(typed)) == len(typed)  # positions of NLU spans stay valid


def test_every_slip_keeps_its_length() -> None:
    assert all(len(typo) == len(word) for typo, word in SLIPS.items())


def test_two_references_in_one_message_in_the_order_written() -> None:
    refs = find_references("参考号613311000415和613311000402 两笔都有问题")
    assert [r.value for r in refs] == ["613311000415", "613311000402"]
    assert [r.value for r in find_references("000688跟000640这两笔")] == ["000688", "000640"]


@pytest.mark.parametrize(
    "text",
    [
        "客服给了个单号T20261202008让我来这查",
        "投诉单T20261125017是上周的",
        "工单号DD-20261130-0031那个不管了",
        "是美容区那台机器 终端31001302",
    ],
)
def test_ticket_and_terminal_numbers_are_never_references(text: str) -> None:
    assert parse_reference(text) is None


def test_a_clock_minute_never_swallows_the_amount_after_it() -> None:
    assert parse_amount("三天前下午四点760没到账") == 760


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("昨天下午四点二十 199 我撤销了 顾客说钱没退", True),
        ("昨天早上九点一刻 460 什么时候到账", True),
        ("凭证号000170那笔我退货了 一直没退到顾客卡上", True),
        ("是外卖窗口那台 终端号31001102", True),
        ("刷卡的钱一般几天到账", False),
        ("上次工单DD-20261201-0012还没人回我", False),
    ],
)
def test_what_names_a_transaction(text: str, names: bool) -> None:
    assert names_a_transaction(text) is names


def test_a_general_question_about_a_named_transaction_becomes_a_drop_report() -> None:
    from rasa.shared.nlu.training_data.message import Message

    from bot.components.transaction_talk import TransactionTalk

    talk = TransactionTalk({"general_intents": ["ask_refund_time", "chitchat"]})
    named = Message(data={"text": "昨天下午四点二十 199 我撤销了 顾客问钱呢",
                          "intent": {"name": "ask_refund_time", "confidence": 0.8}})  # fmt: skip
    general = Message(data={"text": "撤销的钱多久退回",
                            "intent": {"name": "ask_refund_time", "confidence": 0.8}})  # fmt: skip
    human = Message(data={"text": "参考号613311000415 转人工",
                          "intent": {"name": "request_human", "confidence": 0.9}})  # fmt: skip
    talk.process([named, general, human])
    assert named.get("intent")["name"] == "report_drop"
    assert named.get("intent_ranking")[0]["name"] == "report_drop"
    assert general.get("intent")["name"] == "ask_refund_time"
    assert human.get("intent")["name"] == "request_human"  # not a general question
