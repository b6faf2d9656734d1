"""Weeks of plausible past conversations for the demo store, so the dashboard has a story.

Deterministic (a seeded random generator) and quick: about 40 conversations a day, written in
bulk by history.write. Everything a person took is finished (resolved, mostly rated), so the
live queue the demo starts with stays empty.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import TypeVar

from dropdesk.dashboard.history import Handling, Story
from dropdesk.diagnosis.models import ALWAYS_HUMAN, DropCode
from dropdesk.timezone import SHANGHAI

T = TypeVar("T")
CHANNELS = (("widget", 50), ("wechat", 35), ("api", 15))
CODES = (
    (DropCode.APPROVED_NOT_PRINTED, 24), (DropCode.SETTLEMENT_PENDING, 18),
    (DropCode.DECLINED, 12), (DropCode.REVERSED, 10), (DropCode.SETTLED, 8),
    (DropCode.DUPLICATE_CHARGE, 8), (DropCode.NOT_FOUND, 7), (DropCode.AMBIGUOUS, 5),
    (DropCode.SETTLEMENT_DELAYED, 4), (DropCode.REVERSAL_FAILED, 4),
)  # fmt: skip
# Shop hours: most drops at lunch and dinner.
HOURS = (1, 0, 0, 0, 0, 0, 1, 2, 4, 6, 7, 9, 12, 10, 6, 5, 5, 7, 10, 11, 8, 5, 3, 2)
AMOUNTS = ("18.00", "35.50", "66.00", "88.00", "128.00", "199.00", "256.00", "320.50",
           "450.00", "560.00", "1280.00", "2300.00")  # fmt: skip
RATINGS = ((5, 50), (4, 25), (3, 12), (2, 8), (1, 5))
NOTES = ("已帮商户补打电子签购单", "已向收单行确认资金次日到账", "已发起退货，3-5 个工作日退回",
         "冲正失败，已提交差错处理", "解释了结算周期，商户接受", "")  # fmt: skip


def _pick(rng: random.Random, weighted: tuple[tuple[T, int], ...]) -> T:
    values = [value for value, _ in weighted]
    return rng.choices(values, weights=[weight for _, weight in weighted])[0]


def stories(*, merchants: list[tuple[int, list[str]]], agents: list[int], now: dt.datetime,
            days: int = 21, per_day: int = 40) -> list[Story]:  # fmt: skip
    """Conversations from `days` days ago up to an hour before now, all of them finished."""
    rng = random.Random(20261204)
    local_now = now.astimezone(SHANGHAI)
    latest = local_now - dt.timedelta(hours=1)
    result = []
    for back in range(days, -1, -1):
        day = local_now.date() - dt.timedelta(days=back)
        weekend = day.isoweekday() >= 6
        count = int(per_day * (1.3 if weekend else 1.0) * rng.uniform(0.7, 1.2))
        for _ in range(count):
            hour = _pick(rng, tuple(enumerate(HOURS)))
            start = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)),
                                        tzinfo=SHANGHAI)  # fmt: skip
            if start > latest:
                continue
            result.append(_story(rng, start, merchants, agents))
    return result


def _story(rng: random.Random, start: dt.datetime, merchants: list[tuple[int, list[str]]],
           agents: list[int]) -> Story:  # fmt: skip
    merchant_id, terminals = rng.choice(merchants)
    channel = _pick(rng, CHANNELS)
    turns = _pick(rng, ((1, 25), (2, 35), (3, 22), (4, 10), (5, 5), (7, 3)))
    if rng.random() < 0.1:  # left before anything could be diagnosed
        asked = rng.random() < 0.4
        return Story(merchant_id, channel, start, turns_before_diagnosis=turns,
                     escalation="merchant_request" if asked else None,
                     handling=_handling(rng, agents) if asked else None)  # fmt: skip
    code = _pick(rng, CODES)
    with_ref = rng.random() < 0.62
    amount = Decimal(rng.choice(AMOUNTS))
    escalation = None
    if code in ALWAYS_HUMAN or (code == DropCode.AMBIGUOUS and rng.random() < 0.5):
        escalation = "needs_human"
    else:
        roll = rng.random()
        if roll < 0.08:
            escalation = "not_solved"
        elif roll < 0.14:
            escalation = "merchant_request"
        elif roll < 0.17:
            escalation = "fallback"
    return Story(
        merchant_id, channel, start, turns_before_diagnosis=turns, code=code.value,
        amount=amount, terminal_no=rng.choice(terminals),
        order_ref=f"6123{rng.randrange(10**8):08d}" if with_ref else None,
        solved=escalation is None and rng.random() < 0.6, escalation=escalation,
        handling=_handling(rng, agents) if escalation else None,
    )  # fmt: skip


def _handling(rng: random.Random, agents: list[int]) -> Handling:
    minute = dt.timedelta(minutes=1)
    rated = rng.random() < 0.7
    return Handling(
        agent_id=rng.choice(agents),
        joined_after=minute * rng.choice((1, 2, 3, 4, 6, 8, 12, 18, 25, 40)),
        first_reply_after=minute * rng.choice((0.5, 1, 2, 3, 5, 8, 12)),
        resolved_after=minute * rng.randrange(4, 70),
        rating=_pick(rng, RATINGS) if rated else None,
        note=rng.choice(NOTES),
    )
