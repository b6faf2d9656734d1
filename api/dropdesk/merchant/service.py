"""Merchant and terminal lookups and creation."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from dropdesk.merchant.models import Merchant
from dropdesk.terminal.models import Terminal


def get_by_no(*, db_session: Session, merchant_no: str) -> Merchant | None:
    """Return the merchant with this merchant number, if any."""
    return db_session.scalar(select(Merchant).where(Merchant.merchant_no == merchant_no))


def ensure_merchants(*, db_session: Session, merchant_nos: Iterable[str]) -> dict[str, int]:
    """Return ids for these merchant numbers, creating the unknown ones."""
    wanted = set(merchant_nos)
    rows = db_session.execute(
        select(Merchant.merchant_no, Merchant.id).where(Merchant.merchant_no.in_(wanted))
    )
    found = {merchant_no: merchant_id for merchant_no, merchant_id in rows}
    for merchant_no in sorted(wanted - found.keys()):
        merchant = Merchant(merchant_no=merchant_no, name="")
        db_session.add(merchant)
        db_session.flush()
        found[merchant_no] = merchant.id
    return found


def ensure_terminals(
    *, db_session: Session, pairs: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], int]:
    """Return ids for these (merchant id, terminal no) pairs, creating the unknown ones."""
    wanted = set(pairs)
    found: dict[tuple[int, str], int] = {}
    items = list(wanted)
    for start in range(0, len(items), 500):
        chunk = items[start : start + 500]
        rows = db_session.execute(
            select(Terminal.merchant_id, Terminal.terminal_no, Terminal.id).where(
                tuple_(Terminal.merchant_id, Terminal.terminal_no).in_(chunk)
            )
        )
        found.update({(m, t): i for m, t, i in rows})
    for merchant_id, terminal_no in sorted(wanted - found.keys()):
        terminal = Terminal(merchant_id=merchant_id, terminal_no=terminal_no)
        db_session.add(terminal)
        db_session.flush()
        found[(merchant_id, terminal_no)] = terminal.id
    return found
