"""Find which calendar day a merchant's text refers to."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ._text import CN_NUM, small_int

_N = f"[0-9{CN_NUM}]"

_DAY_WORDS = re.compile(r"大前天|前天|前晚|昨天|昨日|昨晚|昨夜|昨儿|今天|今日|今早|今晨|今晚|今儿")
_DAYS_BACK = {"大前天": 3, "前天": 2, "前晚": 2}
_WEEKDAY = re.compile(r"(上上|上个?)?(?:周|星期|礼拜)([一二三四五六日天1-7])")
_WEEKDAY_INDEX = {ch: i for i, ch in enumerate("一二三四五六日")}
_WEEKDAY_INDEX.update({"天": 6, **{str(i + 1): i for i in range(7)}})
# How far back a week or month is: 上上 two, 上/上个 one, 这/这个/本 this one (see _back).
_BACK = r"(上上|上个?|这个?|本)"
# A whole week or month, when the merchant names no day in it: 上周, 这个礼拜, 上个月.
_SPAN = re.compile(rf"{_BACK}(周|星期|礼拜|月)(?![一二三四五六日天1-7])")
_FULL_DATE = re.compile(r"(?<!\d)(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?")
_MONTH_DAY = re.compile(rf"(?<!{_N})({_N}{{1,3}})月({_N}{{1,3}})[日号]?")
_DASH_DATE = re.compile(r"(?<![\d:./-])(\d{1,2})[-/](\d{1,2})(?![\d:./-])")
_DAYS_AGO = re.compile(rf"({_N}{{1,3}})天(?:之|以)?前")
_DAY_OF_NAMED_MONTH = re.compile(rf"{_BACK}月({_N}{{1,3}})[日号]?")
_DAY_OF_MONTH = re.compile(rf"(?<!{_N})({_N}{{1,3}})[日号](?!码)")


@dataclass(frozen=True)
class DayMatch:
    """A day mentioned in the text; day is None when the mention is invalid or future."""

    day: dt.date | None
    start: int
    end: int


def _date_or_none(year: int, month: int | None, day: int | None) -> dt.date | None:
    """Build a date, returning None for impossible values."""
    if month is None or day is None:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _month_day(month: int | None, day: int | None, today: dt.date) -> dt.date | None:
    """Resolve a month/day to its most recent occurrence not after today."""
    for year in (today.year, today.year - 1, today.year - 2, today.year - 3, today.year - 4):
        found = _date_or_none(year, month, day)
        if found is not None and found <= today:
            return found
    return None


def _day_of_month(day: int | None, today: dt.date) -> dt.date | None:
    """Resolve a bare day of month (20号) to its most recent occurrence."""
    year, month = today.year, today.month
    for _ in range(12):
        found = _date_or_none(year, month, day)
        if found is not None and found <= today:
            return found
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return None


def _back(prefix: str | None) -> int:
    """How many weeks or months back a prefix points: 上上 2, 上/上个 1, 这/这个/本/none 0."""
    if prefix == "上上":
        return 2
    return 1 if prefix and prefix.startswith("上") else 0


def _weekday(prefix: str | None, index: int, today: dt.date) -> dt.date:
    """Resolve 周X (most recent, today included) or 上周X (calendar week before this one)."""
    if not prefix:
        return today - dt.timedelta(days=(today.weekday() - index) % 7)
    monday = today - dt.timedelta(days=today.weekday())
    return monday - dt.timedelta(weeks=_back(prefix)) + dt.timedelta(days=index)


def find_day(text: str, today: dt.date) -> DayMatch | None:
    """Return the first day mentioned in normalised text, or None when there is none."""
    m = _FULL_DATE.search(text)
    if m:
        found = _date_or_none(int(m[1]), int(m[2]), int(m[3]))
        if found is not None and found > today:
            found = None
        return DayMatch(found, m.start(), m.end())
    m = _MONTH_DAY.search(text)
    if m:
        found = _month_day(small_int(m[1]), small_int(m[2]), today)
        return DayMatch(found, m.start(), m.end())
    m = _DASH_DATE.search(text)
    if m and 1 <= int(m[1]) <= 12:
        return DayMatch(_month_day(int(m[1]), int(m[2]), today), m.start(), m.end())
    m = _WEEKDAY.search(text)
    if m:
        found = _weekday(m[1], _WEEKDAY_INDEX[m[2]], today)
        return DayMatch(found, m.start(), m.end())
    m = _DAYS_AGO.search(text)
    if m:
        back = small_int(m[1])
        found = None if back is None else today - dt.timedelta(days=back)
        return DayMatch(found, m.start(), m.end())
    m = _DAY_OF_NAMED_MONTH.search(text)
    if m:
        first = _first_of_month(today, _back(m[1]))
        found = _date_or_none(first.year, first.month, small_int(m[2]))
        return DayMatch(found if found is not None and found <= today else None, m.start(), m.end())
    m = _DAY_WORDS.search(text)
    if m:
        word = m.group()
        back = _DAYS_BACK.get(word, 1 if word.startswith("昨") else 0)
        return DayMatch(today - dt.timedelta(days=back), m.start(), m.end())
    m = _DAY_OF_MONTH.search(text)
    if m:
        return DayMatch(_day_of_month(small_int(m[1]), today), m.start(), m.end())
    return None


def _first_of_month(day: dt.date, months_back: int) -> dt.date:
    first = day.replace(day=1)
    for _ in range(months_back):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first


def find_span(text: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """Return the [first day, day after the last) of a week or month named in text, or None.

    Weeks start on Monday: 上周 on a Wednesday is the Monday nine days back to this Monday.
    """
    m = _SPAN.search(text)
    if not m:
        return None
    if m[2] == "月":
        first = _first_of_month(today, _back(m[1]))
        return first, (first + dt.timedelta(days=32)).replace(day=1)
    monday = today - dt.timedelta(days=today.weekday(), weeks=_back(m[1]))
    return monday, monday + dt.timedelta(weeks=1)
