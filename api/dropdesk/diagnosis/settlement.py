"""Settlement calendar: when an approved sale is expected to reach the merchant."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

_CYCLE = re.compile(r"^([TD])(\d{1,2})$")


class SettlementCycleError(ValueError):
    """A settlement cycle is not of the form T1, T0, D0, D1."""


@dataclass(frozen=True)
class SettlementCalendar:
    """Working days are Monday-Friday less holidays, plus make-up working days (调休)."""

    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    extra_workdays: frozenset[dt.date] = field(default_factory=frozenset)

    def is_workday(self, day: dt.date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_workday(self, day: dt.date) -> dt.date:
        """Return the day itself if it is a working day, else the next one."""
        while not self.is_workday(day):
            day += dt.timedelta(days=1)
        return day

    def expected_date(self, txn_date: dt.date, cycle: str) -> dt.date:
        """Return the payout date for a sale on txn_date under a T+n / D+n cycle."""
        match = _CYCLE.match(cycle.strip().upper())
        if not match:
            raise SettlementCycleError(f"settlement cycle {cycle!r} is not like T1, T0 or D0")
        kind, days = match.group(1), int(match.group(2))
        if kind == "D":
            return txn_date + dt.timedelta(days=days)
        day = self.next_workday(txn_date)
        for _ in range(days):
            day = self.next_workday(day + dt.timedelta(days=1))
        return day

    def add_workdays(self, day: dt.date, count: int) -> dt.date:
        """Return the date count working days after day."""
        for _ in range(count):
            day = self.next_workday(day + dt.timedelta(days=1))
        return day
