"""The date range a dashboard covers: whole Asia/Shanghai days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dropdesk.timezone import SHANGHAI

PRESETS = {"today": 1, "7d": 7, "30d": 30}
MAX_DAYS = 366
# date.toordinal() of 1970-01-01: sqlfn.local_day counts days from it.
DAY0 = dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Period:
    """From `first` to `last` inclusive; `preset` is today/7d/30d or custom."""

    preset: str
    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), tzinfo=SHANGHAI)

    @property
    def end(self) -> dt.datetime:
        """The first moment after the period."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def day_number(self, day: dt.date) -> int:
        return day.toordinal() - DAY0

    def query(self) -> dict[str, str]:
        """The query string that names this period again."""
        if self.preset == "custom":
            return {"range": "custom", "from": self.first.isoformat(), "to": self.last.isoformat()}
        return {"range": self.preset}


def day_of(number: int) -> dt.date:
    return dt.date.fromordinal(DAY0 + number)


def parse(*, preset: str | None, first: str | None, last: str | None,
          now: dt.datetime) -> Period:  # fmt: skip
    """The period a request asks for; anything unreadable falls back to the last 7 days."""
    today = now.astimezone(SHANGHAI).date()
    if preset == "custom":
        try:
            start = dt.date.fromisoformat(first or "")
            end = dt.date.fromisoformat(last or "")
        except ValueError:
            return parse(preset="7d", first=None, last=None, now=now)
        start, end = min(start, end), max(start, end)
        start = max(start, end - dt.timedelta(days=MAX_DAYS - 1))
        return Period("custom", start, end)
    days = PRESETS.get(preset or "7d", 7)
    return Period(preset if preset in PRESETS else "7d", today - dt.timedelta(days=days - 1), today)
