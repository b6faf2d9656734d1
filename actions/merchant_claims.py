"""What the merchant has told us about the current drop: the customer was charged, or the
money has not arrived. The diagnosis answer must not contradict either."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from actions.normalise import says_no_reference, spelling

FORM = "drop_form"
SETTLEMENT_INTENT = "ask_settlement_time"
NEW_DROP_INTENT = "report_drop"
NEW_DROP_WORDS = re.compile(r"还有一笔|另外一笔|另一笔|再查一笔|又一笔|下一笔")

_CHARGED = re.compile(
    "|".join(
        (
            # 扣了 / 扣钱了 / 扣款成功 / 扣掉了 / 被扣 / 已扣款 (not 折扣了, 回扣)
            r"(?<![折回])扣(?:款|钱|錢|费|費)?(?:了|过|過|掉|走|完|成功)",
            r"(?:被|已经?|已經)扣",
            r"扣(?:款|费|費)(?:记录|記錄|短信|簡訊|信息|通知)",
            # 顾客付了 / 已经付款 / 支付成功
            r"(?:付|支付|付款|付钱|付錢|交钱|給錢|给钱)(?:过|過)?了",
            r"(?:付款|支付|付钱|付錢)成功",
            r"(?:已经?|已經)(?:付|支付)",
            # 账单上有 / 银行发短信了 / 收到短信
            r"(?:账单|帐单|賬單|帳單|流水|明细)(?:上|里|裡)?(?:有|显示|顯示|出现|能看到)",
            r"(?:银行|銀行|扣款|扣费|消费|消費)(?:的)?(?:短信|簡訊)",
            r"(?:银行|銀行)(?:发|發|来|來)了?(?:短信|簡訊|通知)",
            r"(?:收到|有)了?(?:短信|簡訊)",
            # 钱被划走了 / 卡里少了
            r"(?:被|已经?|钱|錢)划(?:走|扣|款|掉)",
            r"(?:卡|余额|餘額|账户|賬戶)(?:里|裡|上)?(?:的钱|的錢)?(?:少了|没了|沒了)",
        )
    )
)
# Right before the claim: 没扣 / 没有被扣 / 未扣款 / 不会扣.
_NEGATED = re.compile(r"[没沒未不别別无無非]有?(?:被|再|都|还|還)?$")
# Anywhere earlier in the clause: the merchant does not know, asks, or supposes.
_UNSURE = re.compile(
    r"不知道|不确定|不確定|不清楚|不晓得|不曉得|不记得|是不是|有没有|有沒有|是否|会不会|會不會"
    r"|如果|要是|万一|萬一|假如|假设|怕|担心|擔心|以为|以為|可能|[扣付]没[扣付]|[扣付]沒[扣付]"
)
# Right after the claim: 扣了吗 / 扣了没有 / 付了钱没 / 扣了？ (but 扣了没到账 is a claim).
_ASKED = re.compile(
    r"^(?:了|过|過|钱|錢|款|呢|啊|的)*"
    r"(?:吗|嗎|么|麼|嘛|否|[？?]|(?:没有|沒有|没|沒)(?![有到收进進入显顯出]))"
)
_CLAUSE = re.compile(r"[^，,。；;！!？?\n]+[？?]?")
_TURN = re.compile(r"但是|但|可是|不过|不過|然而")

_NOT_ARRIVED = re.compile(
    r"到账|到帐|到賬|到帳|入账|入帳|进账|進賬|打款|回款"
    r"|(?:没|沒)有?收到(?:钱|錢|款)|打到(?:我的?)?(?:卡|账户|賬戶)"
    r"|(?:钱|錢|款)(?:还|還|都|也|一直)?(?:没|沒)有?(?:到|进|進)"
    r"|(?:还|還|一直|都)(?:没|沒)有?到(?![店这那家场])"
)


def _clauses(text: str) -> list[str]:
    """Split a message where a claim cannot reach across: punctuation, 但/可是."""
    return [part for clause in _CLAUSE.findall(text) for part in _TURN.split(clause) if part]


def _claimed_in(clause: str) -> bool:
    for match in _CHARGED.finditer(clause):
        before, after = clause[: match.start()], clause[match.end() :]
        if _NEGATED.search(before[-3:]) or _UNSURE.search(before + match.group(0)):
            continue
        if _ASKED.match(after):
            continue
        return True
    return False


def says_charged(text: str) -> bool:
    """Tell whether the merchant says the customer was charged (顾客说扣了, 账单上有)."""
    return any(_claimed_in(clause) for clause in _clauses(text))


def says_not_arrived(text: str) -> bool:
    """Tell whether the merchant talks about the money reaching them (没到账, 钱没到)."""
    return _NOT_ARRIVED.search(text) is not None


def _intent(event: dict[str, Any]) -> str | None:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def current_drop(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The merchant's messages (user events) since the drop being handled was reported.

    A drop ends with its diagnosis (not an ambiguous one, which asks the merchant more): the
    next report_drop that (re)starts the form, or 还有一笔 after any diagnosis, starts another,
    as the form forgets the earlier drop's details on report_drop (actions/form_validation.py).
    """
    messages: list[dict[str, Any]] = []
    loop: str | None = None
    answered = finished = False
    for event in events:
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            messages, loop, answered, finished = [], None, False, False
        elif kind == "active_loop":
            loop = event.get("name")
        elif kind == "slot" and event.get("name") == "diagnosis_code":
            answered = event.get("value") is not None
            finished = answered and event.get("value") != "ambiguous"
        elif kind == "user":
            restarts = _intent(event) == NEW_DROP_INTENT and loop != FORM and finished
            another = answered and NEW_DROP_WORDS.search(
                spelling.fold(str(event.get("text") or ""))
            )
            if restarts or another:
                messages, answered, finished = [], False, False
            messages.append(event)
    return messages


@dataclass(frozen=True)
class Claims:
    """What the merchant said about the current drop."""

    charged: bool = False
    not_arrived: bool = False


def claims(events: Iterable[dict[str, Any]]) -> Claims:
    """Read the current drop's messages for a charge or a settlement question."""
    messages = current_drop(events)
    texts = [spelling.fold(str(m.get("text") or "")) for m in messages]
    return Claims(
        charged=any(says_charged(text) for text in texts),
        not_arrived=any(_intent(m) == SETTLEMENT_INTENT for m in messages)
        or any(says_not_arrived(text) for text in texts),
    )


def said_no_reference(events: Iterable[dict[str, Any]]) -> bool:
    """Tell whether the merchant said there is no slip or reference for the current drop."""
    return any(
        says_no_reference(spelling.fold(str(m.get("text") or ""))) for m in current_drop(events)
    )
