"""Turn a merchant's description of when a payment happened into a time window."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from ._clock import APPROX, PERIODS, Clock, find_clock, find_period, find_relative
from ._days import find_day, find_span
from ._text import fold_width

_MINUTE = dt.timedelta(minutes=1)
_HALF_HOUR = dt.timedelta(minutes=30)
_HOUR = dt.timedelta(hours=1)
_DAY = dt.timedelta(days=1)


@cache
def shanghai() -> ZoneInfo:
    """Return the Asia/Shanghai zone, loaded on first use rather than at import."""
    return ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class TimeWindow:
    """A half-open window [start, end) of aware Asia/Shanghai datetimes."""

    start: dt.datetime
    end: dt.datetime
    vague: bool


def _midnight(day: dt.date) -> dt.datetime:
    """Return the start of a day in Asia/Shanghai."""
    return dt.datetime.combine(day, dt.time(), tzinfo=shanghai())


def _hours_for(hour: int, period: str | None) -> list[int]:
    """List the hours after midnight a spoken hour may mean (24+ is the next day)."""
    if period is None:
        if hour == 0 or hour >= 13:
            return [hour]
        return [0, 12] if hour == 12 else [hour, hour + 12]
    if hour >= 13:
        return [hour]
    if period == "凌晨":
        return [0 if hour == 12 else hour]
    if period == "中午":
        return [hour + 12 if 1 <= hour <= 5 else hour]
    if period in ("下午", "傍晚"):
        return [hour + 12 if hour < 12 else hour]
    if period == "晚上":
        # 晚上十二点 is midnight and 晚上一点 the small hours, both after the day ends.
        return [hour + 24 if hour <= 5 else hour + 12]
    return [hour]


def _business_hour(hour: int) -> int:
    """Guess AM/PM for a bare hour on a past day: 1-7 afternoon, 8-12 as said."""
    return hour + 12 if 1 <= hour <= 7 else hour


def _clip(start: dt.datetime, end: dt.datetime, vague: bool, now: dt.datetime) -> TimeWindow | None:
    """Cut a window so it never ends after now (plus one minute); reject future ones."""
    if start > now:
        return None
    if end > now + _MINUTE:
        end = now if now > start else start + _MINUTE
    return TimeWindow(start, end, vague)


def _clock_window(
    clock: Clock, day: dt.date, explicit: bool, period: str | None, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime] | None:
    """Place a clock time on the most recent matching moment that is not in the future."""
    if period is None and explicit and day != now.date():
        hours = [_business_hour(clock.hour)]
    else:
        hours = _hours_for(clock.hour, period)
    days = [day] if explicit else [day, day - _DAY]
    offset = dt.timedelta(minutes=clock.minute or 0)
    starts = [_midnight(d) + h * _HOUR + offset for d in days for h in hours]
    past = [s for s in starts if s <= now]
    if not past:
        return None
    start = max(past)
    return start, start + (_HOUR if clock.minute is None else _MINUTE)


def parse_time(text: str, now: dt.datetime) -> TimeWindow | None:
    """Return the time window the merchant describes relative to now, or None."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    now = now.astimezone(shanghai())
    norm = fold_width(text).lower()
    relative = find_relative(norm, now)
    if relative is not None:
        return _clip(relative[0], relative[1], True, now)

    today = now.date()
    day_match = find_day(norm, today)
    if day_match is not None and day_match.day is None:
        return None
    rest = norm
    if day_match is not None:
        blank = " " * (day_match.end - day_match.start)
        rest = norm[: day_match.start] + blank + norm[day_match.end :]
    period = find_period(norm)
    clock = find_clock(rest)
    span = find_span(norm, today) if day_match is None else None
    if span is not None and period is None and clock is None:
        return _clip(_midnight(span[0]), _midnight(span[1]), True, now)
    if day_match is None and period is None and clock is None:
        return None
    explicit = day_match is not None
    day = day_match.day if day_match is not None and day_match.day is not None else today

    if clock is not None:
        window = _clock_window(clock, day, explicit, period, now)
        if window is None:
            return None
        start, end = window
        vague = clock.minute is None
        if APPROX.search(norm):
            start, end, vague = start - _HALF_HOUR, end + _HALF_HOUR, True
        return _clip(start, end, vague, now)
    if period is not None:
        low, high = PERIODS[period]
        start = _midnight(day) + low * _MINUTE
        if not explicit and start > now:
            start -= _DAY
        return _clip(start, start + (high - low) * _MINUTE, True, now)
    start = _midnight(day)
    return _clip(start, start + _DAY, True, now)
