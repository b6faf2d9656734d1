"""Classify a dropped transaction from its candidates: pure rules, no I/O."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dropdesk import messages
from dropdesk.diagnosis.models import DropCode, NextStep
from dropdesk.diagnosis.settlement import SettlementCalendar
from dropdesk.timezone import SHANGHAI
from dropdesk.transaction.models import (
    ReversalStatus,
    SettlementStatus,
    TerminalStatus,
    Transaction,
    TxnType,
)


@dataclass(frozen=True)
class Policy:
    calendar: SettlementCalendar
    settlement_cycle: str
    duplicate_window: dt.timedelta


@dataclass
class Verdict:
    code: DropCode
    reason: str
    transactions: list[Transaction]
    next_steps: list[NextStep]
    needs_human: bool = False
    details: dict[str, str | None] = field(default_factory=dict)


def _approved(txn: Transaction) -> bool:
    return txn.response_code == "00"


def _undone_by(txn: Transaction, children: Sequence[Transaction]) -> str | None:
    """Return 'voided'/'refunded' if an approved void or full refund undid this sale."""
    for child in children:
        if child.original_id != txn.id or not _approved(child):
            continue
        if child.reversal_status == ReversalStatus.REVERSED:
            continue
        if child.txn_type == TxnType.VOID:
            return "voided"
        if child.txn_type == TxnType.REFUND and child.amount_fen >= txn.amount_fen:
            return "refunded"
    return None


def _standing(txn: Transaction, children: Sequence[Transaction]) -> bool:
    """An approved sale that still takes the customer's money."""
    return (
        _approved(txn)
        and txn.reversal_status == ReversalStatus.NONE
        and _undone_by(txn, children) is None
    )


def _reason(key: str, **values: object) -> str:
    return messages.REASONS[key].format(**values)


def classify(
    candidates: Sequence[Transaction],
    children: Sequence[Transaction],
    *,
    policy: Policy,
    now: dt.datetime,
) -> Verdict:
    """Return the one drop code that explains these candidate sales."""
    sales = [t for t in candidates if t.txn_type == TxnType.SALE]
    if not sales:
        return Verdict(
            DropCode.NOT_FOUND,
            _reason("not_found"),
            [],
            [NextStep.RECHECK_DETAILS, NextStep.CHECK_NETWORK, NextStep.CHARGE_AGAIN],
        )
    duplicate = _duplicate_group(sales, children, policy)
    if duplicate is not None:
        return _duplicate(duplicate, now)
    if len(sales) > 1:
        return _ambiguous(sales, children)
    return _single(sales[0], children, policy=policy, now=now)


def _duplicate_group(
    sales: Sequence[Transaction], children: Sequence[Transaction], policy: Policy
) -> list[Transaction] | None:
    standing = [t for t in sales if _standing(t, children)]
    groups: dict[tuple[str | None, str | None, int], list[Transaction]] = {}
    for txn in standing:
        if txn.card_last4:
            groups.setdefault((txn.card_bin, txn.card_last4, txn.amount_fen), []).append(txn)
    found = []
    for group in groups.values():
        group.sort(key=lambda t: t.txn_time)
        close = any(
            b.txn_time - a.txn_time <= policy.duplicate_window for a, b in itertools.pairwise(group)
        )
        if len(group) >= 2 and close:
            found.append(group)
    # Exactly one duplicate pair/triple and nothing else still charging the customer.
    if len(found) == 1 and len(found[0]) == len(standing):
        return found[0]
    return None


def _duplicate(group: list[Transaction], now: dt.datetime) -> Verdict:
    gap = (group[-1].txn_time - group[0].txn_time).total_seconds() / 60
    settled = any(t.settlement_status == SettlementStatus.SETTLED for t in group)
    same_day = group[-1].txn_time.astimezone(SHANGHAI).date() == now.astimezone(SHANGHAI).date()
    steps = [NextStep.VOID_EXTRA_TODAY if same_day and not settled else NextStep.REFUND_EXTRA]
    if settled:
        steps.append(NextStep.ESCALATE)
    return Verdict(
        DropCode.DUPLICATE_CHARGE,
        _reason("duplicate_charge", count=len(group), gap_minutes=max(1, round(gap))),
        group,
        steps,
        needs_human=settled,
        details={"same_day": "true" if same_day else "false",
                 "settled": "true" if settled else "false"},
    )  # fmt: skip


# What tells candidate sales apart, in the order a merchant can most easily answer it.
_SEPARATORS: dict[str, Callable[[Transaction], object]] = {
    "card_last4": lambda t: t.card_last4,
    "time": lambda t: t.txn_time.replace(second=0, microsecond=0),
    "terminal": lambda t: t.terminal_id,
    "screen": lambda t: t.terminal_status == TerminalStatus.COMPLETED,
    "amount": lambda t: t.amount_fen,
}
_ASK = {
    "card_last4": NextStep.ASK_CARD_LAST4,
    "amount": NextStep.ASK_AMOUNT,
    "time": NextStep.ASK_TIME,
    "terminal": NextStep.ASK_TERMINAL,
    "screen": NextStep.ASK_SCREEN,
    "reference": NextStep.ASK_REFERENCE,
}


def separators(sales: Sequence[Transaction]) -> list[str]:
    """The questions that tell these sales apart: those that single each one out first, then
    those that at least split them, and the reference (which always does) last."""
    whole, partial = [], []
    for name, key in _SEPARATORS.items():
        values = [key(t) for t in sales]
        if any(v is None for v in values):
            continue
        distinct = len(set(values))
        if distinct == len(sales):
            whole.append(name)
        elif distinct > 1:
            partial.append(name)
    return [*whole, *partial, "reference"]


def _ambiguous(sales: Sequence[Transaction], children: Sequence[Transaction]) -> Verdict:
    order = separators(sales)
    separating = order[0]
    charged = [_standing(t, children) for t in sales]
    return Verdict(
        DropCode.AMBIGUOUS,
        _reason(
            "ambiguous", count=len(sales), separating_text=messages.SEPARATING_TEXT[separating]
        ),
        list(sales),
        [_ASK[separating]],
        details={
            "separating": separating,
            "separators": ",".join(order),
            # Only some of them charged the customer: the merchant must hear it plainly.
            "outcomes_differ": "true" if any(charged) and not all(charged) else "false",
        },
    )


def _single(
    txn: Transaction, children: Sequence[Transaction], *, policy: Policy, now: dt.datetime
) -> Verdict:
    local_day = txn.txn_time.astimezone(SHANGHAI).date()
    if txn.response_code is None:
        if txn.reversal_status == ReversalStatus.FAILED:
            return _reversal_failed(txn)
        return Verdict(
            DropCode.DECLINED,
            _reason("no_response", count=1),
            [txn],
            [NextStep.EXPLAIN_RESPONSE_CODE, NextStep.CHARGE_AGAIN],
            details={"response_code": None, "response_meaning": messages.NO_RESPONSE},
        )
    if not _approved(txn):
        known = messages.RESPONSE_CODES.get(txn.response_code or "")
        meaning = known.meaning if known else "其他原因"
        return Verdict(
            DropCode.DECLINED,
            _reason("declined", count=1, response_code=txn.response_code, response_meaning=meaning),
            [txn],
            [NextStep.EXPLAIN_RESPONSE_CODE, NextStep.CHARGE_AGAIN],
            details={"response_code": txn.response_code, "response_meaning": meaning},
        )
    undone = _undone_by(txn, children)
    if txn.reversal_status == ReversalStatus.REVERSED or undone:
        back_by = policy.calendar.add_workdays(local_day, 1)
        return Verdict(
            DropCode.REVERSED,
            _reason(undone or "reversed", count=1),
            [txn, *[c for c in children if c.original_id == txn.id]],
            [NextStep.TELL_CUSTOMER_REFUND_TIMING, NextStep.CHARGE_AGAIN],
            details={"how": undone or "reversed",
                     "money_back_by": back_by.isoformat() if undone != "refunded" else
                     policy.calendar.add_workdays(local_day, 5).isoformat()},
        )  # fmt: skip
    if txn.reversal_status == ReversalStatus.FAILED:
        return _reversal_failed(txn)
    if txn.terminal_status != TerminalStatus.COMPLETED:
        return Verdict(
            DropCode.APPROVED_NOT_PRINTED,
            _reason(
                "approved_not_printed",
                count=1,
                terminal_status_text=messages.TERMINAL_STATUS_TEXT[txn.terminal_status],
            ),
            [txn],
            [NextStep.DO_NOT_CHARGE_AGAIN, NextStep.OFFER_ESLIP],
            details={"expected_date": policy.calendar.expected_date(
                local_day, policy.settlement_cycle).isoformat()},
        )  # fmt: skip
    return _settlement(txn, policy=policy, now=now, local_day=local_day)


def _reversal_failed(txn: Transaction) -> Verdict:
    return Verdict(
        DropCode.REVERSAL_FAILED,
        _reason("reversal_failed", count=1),
        [txn],
        [NextStep.DO_NOT_CHARGE_AGAIN, NextStep.ESCALATE],
        needs_human=True,
    )


def _settlement(
    txn: Transaction, *, policy: Policy, now: dt.datetime, local_day: dt.date
) -> Verdict:
    expected = policy.calendar.expected_date(local_day, policy.settlement_cycle)
    details: dict[str, str | None] = {
        "expected_date": expected.isoformat(),
        "settlement_cycle": policy.settlement_cycle,
    }
    if txn.settlement_status == SettlementStatus.SETTLED:
        settled_on = txn.settlement_date.isoformat() if txn.settlement_date else None
        details |= {"settlement_date": settled_on, "batch_no": txn.batch_no}
        return Verdict(
            DropCode.SETTLED,
            _reason("settled", count=1, settlement_date=settled_on, batch_no=txn.batch_no or "-"),
            [txn],
            [NextStep.CHECK_BANK_ACCOUNT],
            details=details,
        )
    if txn.settlement_status in (SettlementStatus.FAILED, SettlementStatus.HELD):
        key = f"settlement_{txn.settlement_status}"
    elif now.astimezone(SHANGHAI).date() > expected:
        key = "settlement_overdue"
    else:
        return Verdict(
            DropCode.SETTLEMENT_PENDING,
            _reason("settlement_pending", count=1, expected_date=expected.isoformat()),
            [txn],
            [NextStep.WAIT_FOR_SETTLEMENT],
            details=details,
        )
    return Verdict(
        DropCode.SETTLEMENT_DELAYED,
        _reason(key, count=1, expected_date=expected.isoformat()),
        [txn],
        [NextStep.ESCALATE],
        needs_human=True,
        details=details | {"delay": key.removeprefix("settlement_")},
    )
