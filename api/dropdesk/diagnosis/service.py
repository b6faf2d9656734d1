"""Diagnose a merchant's dropped transaction against the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk.config import Settings
from dropdesk.diagnosis.engine import Policy, Verdict, classify
from dropdesk.diagnosis.models import (
    DiagnosisQuery,
    DiagnosisRead,
    DropCode,
    NextStep,
    ScreenShown,
    TransactionRead,
)
from dropdesk.diagnosis.settlement import SettlementCalendar
from dropdesk.merchant import service as merchant_service
from dropdesk.merchant.models import Merchant
from dropdesk.terminal import service as terminal_service
from dropdesk.terminal.models import Terminal
from dropdesk.timezone import SHANGHAI, now_shanghai
from dropdesk.transaction import service as transaction_service
from dropdesk.transaction.models import TerminalStatus, Transaction, TxnType


class UnknownMerchantError(LookupError):
    """No merchant has this merchant number."""


def policy_for(merchant: Merchant, settings: Settings) -> Policy:
    """Build the settlement and matching policy for one merchant."""
    return Policy(
        calendar=SettlementCalendar(
            frozenset(settings.holidays), frozenset(settings.extra_workdays)
        ),
        settlement_cycle=merchant.settlement_cycle or settings.default_settlement_cycle,
        duplicate_window=dt.timedelta(minutes=settings.duplicate_window_minutes),
    )


def _narrow(txns: list[Transaction], query: DiagnosisQuery, tolerance: dt.timedelta,
            ) -> list[Transaction]:  # fmt: skip
    if query.amount is not None:
        txns = [t for t in txns if t.amount_fen == int(query.amount * 100)]
    if query.time_from is not None and query.time_to is not None:
        start, end = query.time_from - tolerance, query.time_to + tolerance
        txns = [t for t in txns if start <= t.txn_time <= end]
    if query.card_last4:
        txns = [t for t in txns if t.card_last4 == query.card_last4]
    if query.terminal_no:
        txns = [t for t in txns if t.terminal.terminal_no.endswith(query.terminal_no)]
    if query.screen is not None:
        completed = query.screen == ScreenShown.SUCCESS
        txns = [t for t in txns if (t.terminal_status == TerminalStatus.COMPLETED) == completed]
    return txns


def _candidates(
    db_session: Session, query: DiagnosisQuery, tolerance: dt.timedelta
) -> list[Transaction]:
    if query.order_ref:
        found = transaction_service.find_by_reference(
            db_session=db_session, merchant_no=query.merchant_no, reference=query.order_ref
        )
        sales = _to_sales(db_session, found)
        # The reference is the strongest clue: other details only narrow several matches.
        if len(sales) <= 1:
            return sales
        return _narrow(sales, query, tolerance) or sales
    assert query.time_from is not None and query.time_to is not None
    found = transaction_service.find_in_window(
        db_session=db_session,
        merchant_no=query.merchant_no,
        start=query.time_from - tolerance,
        end=query.time_to + tolerance + dt.timedelta(microseconds=1),
        amount_fen=int(query.amount * 100) if query.amount is not None else None,
    )
    return _narrow(_to_sales(db_session, found), query, tolerance)


def _to_sales(db_session: Session, txns: Sequence[Transaction]) -> list[Transaction]:
    """Replace voids/refunds by the sale they undo, keeping order and uniqueness."""
    missing = [t.original_id for t in txns if t.txn_type != TxnType.SALE and t.original_id]
    originals = {t.id: t for t in _by_ids(db_session, missing)}
    seen: dict[int, Transaction] = {}
    for txn in txns:
        sale = txn if txn.txn_type == TxnType.SALE else originals.get(txn.original_id or -1)
        if sale is not None:
            seen.setdefault(sale.id, sale)
    return sorted(seen.values(), key=lambda t: t.txn_time)


def _by_ids(db_session: Session, ids: Sequence[int | None]) -> list[Transaction]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return []
    return list(db_session.scalars(select(Transaction).where(Transaction.id.in_(wanted))))


def diagnose(
    *,
    db_session: Session,
    query: DiagnosisQuery,
    settings: Settings,
    now: dt.datetime | None = None,
) -> DiagnosisRead:
    """Find the merchant's candidate transactions and name the drop type."""
    tolerance = dt.timedelta(minutes=settings.time_tolerance_minutes)
    candidates = _candidates(db_session, query, tolerance)
    merchant = (
        candidates[0].merchant
        if candidates
        else merchant_service.get_by_no(db_session=db_session, merchant_no=query.merchant_no)
    )
    if merchant is None:
        raise UnknownMerchantError(query.merchant_no)
    policy = policy_for(merchant, settings)
    now = now or now_shanghai()
    children = _children(db_session, candidates)
    verdict = classify(candidates, children, policy=policy, now=now)
    if verdict.code in _MAY_HIDE_A_DUPLICATE:
        # One approved sale found: a second charge on the same card may sit outside the query.
        nearby = transaction_service.find_same_card_nearby(
            db_session=db_session, txn=candidates[0], window=policy.duplicate_window
        )
        if nearby:
            wider = sorted([*candidates, *nearby], key=lambda t: t.txn_time)
            more = classify(wider, [*children, *_children(db_session, nearby)], policy=policy,
                            now=now)  # fmt: skip
            if more.code == DropCode.DUPLICATE_CHARGE:
                verdict = more
    return _read(merchant, verdict)


_MAY_HIDE_A_DUPLICATE = {
    DropCode.APPROVED_NOT_PRINTED,
    DropCode.SETTLEMENT_PENDING,
    DropCode.SETTLED,
    DropCode.SETTLEMENT_DELAYED,
}


def _children(db_session: Session, sales: list[Transaction]) -> list[Transaction]:
    # Only an approved sale can be voided or refunded, and import flags those that were.
    approved = [t.id for t in sales if t.response_code == "00" and t.has_children]
    return transaction_service.children_of(db_session=db_session, original_ids=approved)


def _read(merchant: Merchant, verdict: Verdict) -> DiagnosisRead:
    terminals = {t.terminal_id: t.terminal for t in verdict.transactions}
    details = dict(verdict.details)
    if verdict.code == DropCode.SETTLED:
        details["settlement_account"] = merchant.settlement_account_masked
    return DiagnosisRead(
        code=verdict.code,
        reason=verdict.reason,
        transactions=[_txn_read(t, terminals[t.terminal_id]) for t in verdict.transactions],
        next_steps=verdict.next_steps,
        needs_human=verdict.needs_human or NextStep.ESCALATE in verdict.next_steps,
        details=details,
        terminals=[terminal_service.health(t) for t in terminals.values()],
    )


def _txn_read(txn: Transaction, terminal: Terminal) -> TransactionRead:
    return TransactionRead(
        id=txn.id,
        terminal_no=terminal.terminal_no,
        txn_type=txn.txn_type,
        order_no=txn.order_no,
        trace_no=txn.trace_no,
        ref_no=txn.ref_no,
        batch_no=txn.batch_no,
        auth_code=txn.auth_code,
        card_masked=txn.card_masked,
        amount=txn.amount,
        txn_time=txn.txn_time.astimezone(SHANGHAI),
        response_code=txn.response_code,
        terminal_status=txn.terminal_status,
        reversal_status=txn.reversal_status,
        settlement_status=txn.settlement_status,
        settlement_date=txn.settlement_date,
        original_ref_no=txn.original_ref_no,
    )
