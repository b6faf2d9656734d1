"""Find clock times, day periods and relative times in a merchant's text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ._text import CN_NUM, small_int

_N = f"[0-9{CN_NUM}]"

# Period name -> (start, end) in minutes after the day's midnight.
PERIODS: dict[str, tuple[int, int]] = {
    "凌晨": (0, 6 * 60),
    "早上": (6 * 60, 10 * 60),
    "上午": (8 * 60, 12 * 60),
    "中午": (11 * 60, 14 * 60),
    "下午": (12 * 60, 18 * 60),
    "傍晚": (17 * 60, 19 * 60 + 30),
    "晚上": (18 * 60, 24 * 60),
}
_PERIOD_ALIASES = {
    "早晨": "早上", "清晨": "早上", "一早": "早上", "今早": "早上", "今晨": "早上",
    "午间": "中午", "午后": "下午", "夜里": "晚上", "夜间": "晚上", "晚间": "晚上",
    "今晚": "晚上", "昨晚": "晚上", "前晚": "晚上", "昨夜": "晚上",
}  # fmt: skip
_PERIOD = re.compile("|".join([*PERIODS, *_PERIOD_ALIASES]))

_COLON_CLOCK = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::\d{2})?(?![\d:])")
_CN_CLOCK = re.compile(
    rf"(?<![0-9{CN_NUM}有差快慢少])(?P<hour>{_N}{{1,3}})[点时](?!{_N}*(?:元|块|毛|角)|钱|儿)钟?"
    rf"(?:(?P<half>半)|(?P<quarter>[一三])刻|整|(?P<minute>\d{{1,2}}(?!\d)|[{CN_NUM}]{{1,3}})分?)?"
)
APPROX = re.compile(r"左右|大概|大约|差不多|前后|估计")

_JUST_NOW = re.compile(r"刚才|刚刚|方才")
_HOURS_AGO = re.compile(rf"(?P<n>{_N}{{1,3}})个?(?P<half>半)?(?:小时|钟头)(?:之|以)?前")
_HALF_HOUR_AGO = re.compile(r"半个?(?:小时|钟头)(?:之|以)?前")
_MINUTES_AGO = re.compile(rf"(?P<n>{_N}{{1,3}})分钟(?:之|以)?前")


@dataclass(frozen=True)
class Clock:
    """A clock time as said: hour 0-24 and the minute when one was given."""

    hour: int
    minute: int | None


def find_period(text: str) -> str | None:
    """Return the canonical day period (上午, 下午, ...) named in the text."""
    m = _PERIOD.search(text)
    if not m:
        return None
    return _PERIOD_ALIASES.get(m.group(), m.group())


def find_clock(text: str) -> Clock | None:
    """Return the first clock time (14:05, 两点十分, 三点半, 十点一刻) in the text."""
    m = _COLON_CLOCK.search(text)
    if m and int(m[1]) <= 24 and int(m[2]) <= 59:
        return Clock(int(m[1]), int(m[2]))
    for m in _CN_CLOCK.finditer(text):
        hour = small_int(m["hour"])
        if hour is None or hour > 24:
            continue
        if m["half"]:
            return Clock(hour, 30)
        if m["quarter"]:
            return Clock(hour, 15 if m["quarter"] == "一" else 45)
        if m["minute"]:
            minute = small_int(m["minute"])
            if minute is None or minute > 59:
                continue
            return Clock(hour, minute)
        return Clock(hour, None)
    return None


def find_relative(text: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """Return the raw (start, end) of a relative time such as 刚才 or 十分钟前."""
    minute = dt.timedelta(minutes=1)
    m = _HOURS_AGO.search(text)
    if m:
        hours = small_int(m["n"])
        if hours is not None:
            ago = dt.timedelta(hours=hours, minutes=30 if m["half"] else 0)
            return now - ago - 30 * minute, now - ago + 30 * minute
    if _HALF_HOUR_AGO.search(text):
        return now - 45 * minute, now - 15 * minute
    m = _MINUTES_AGO.search(text)
    if m:
        minutes = small_int(m["n"])
        if minutes is not None:
            return now - (minutes + 5) * minute, now - (minutes - 5) * minute
    if _JUST_NOW.search(text):
        return now - 30 * minute, now
    return None
