"""Tests for parse_time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from actions.normalise import TimeWindow, parse_time

TZ = ZoneInfo("Asia/Shanghai")
# Wednesday afternoon and Wednesday morning.
NOW = dt.datetime(2026, 11, 25, 16, 30, tzinfo=TZ)
MORNING = dt.datetime(2026, 11, 25, 9, 40, tzinfo=TZ)


def _at(spec: str) -> dt.datetime:
    """Build an aware datetime from 'MM-DD HH:MM' in 2026."""
    return dt.datetime.strptime(f"2026-{spec}", "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


AFTERNOON_CASES = [
    # Exact minutes.
    ("11月20日 14:05", "11-20 14:05", "11-20 14:06", False),
    ("11月20号14点05分", "11-20 14:05", "11-20 14:06", False),
    ("2026-11-20 14:05", "11-20 14:05", "11-20 14:06", False),
    ("14:05", "11-25 14:05", "11-25 14:06", False),
    ("14：05", "11-25 14:05", "11-25 14:06", False),
    ("１４：０５", "11-25 14:05", "11-25 14:06", False),
    ("14:05:37", "11-25 14:05", "11-25 14:06", False),
    ("14点05", "11-25 14:05", "11-25 14:06", False),
    ("14时05分", "11-25 14:05", "11-25 14:06", False),
    ("两点十分", "11-25 14:10", "11-25 14:11", False),
    ("下午两点十分", "11-25 14:10", "11-25 14:11", False),
    ("三点半", "11-25 15:30", "11-25 15:31", False),
    ("十点一刻", "11-25 10:15", "11-25 10:16", False),
    ("两点三刻", "11-25 14:45", "11-25 14:46", False),
    ("下午三点四十五", "11-25 15:45", "11-25 15:46", False),
    ("三点零五", "11-25 15:05", "11-25 15:06", False),
    ("20号两点十分", "11-20 14:10", "11-20 14:11", False),
    ("前天早上8点半", "11-23 08:30", "11-23 08:31", False),
    ("16:30", "11-25 16:30", "11-25 16:31", False),
    # Whole hours.
    ("三点", "11-25 15:00", "11-25 16:00", True),
    ("三点多", "11-25 15:00", "11-25 16:00", True),
    ("3点钟", "11-25 15:00", "11-25 16:00", True),
    ("四点", "11-25 16:00", "11-25 16:30", True),
    ("五点", "11-25 05:00", "11-25 06:00", True),
    ("十二点", "11-25 12:00", "11-25 13:00", True),
    ("零点", "11-25 00:00", "11-25 01:00", True),
    ("二十三点", "11-24 23:00", "11-25 00:00", True),
    ("昨天下午三点", "11-24 15:00", "11-24 16:00", True),
    ("昨天3点", "11-24 15:00", "11-24 16:00", True),
    ("昨天十点", "11-24 10:00", "11-24 11:00", True),
    ("昨天十二点", "11-24 12:00", "11-24 13:00", True),
    ("昨晚八点", "11-24 20:00", "11-24 21:00", True),
    ("凌晨两点", "11-25 02:00", "11-25 03:00", True),
    ("中午一点", "11-25 13:00", "11-25 14:00", True),
    ("傍晚六点", "11-24 18:00", "11-24 19:00", True),
    ("晚上十二点", "11-25 00:00", "11-25 01:00", True),
    ("昨天晚上一点", "11-25 01:00", "11-25 02:00", True),
    ("2026年11月20日下午3点", "11-20 15:00", "11-20 16:00", True),
    # Approximate times widen by 30 minutes either side.
    ("三点左右", "11-25 14:30", "11-25 16:30", True),
    ("大概14:05", "11-25 13:35", "11-25 14:36", True),
    ("昨天差不多十点", "11-24 09:30", "11-24 11:30", True),
    # Relative times.
    ("刚才", "11-25 16:00", "11-25 16:30", True),
    ("刚刚刷的", "11-25 16:00", "11-25 16:30", True),
    ("半小时前", "11-25 15:45", "11-25 16:15", True),
    ("半个小时之前", "11-25 15:45", "11-25 16:15", True),
    ("十分钟前", "11-25 16:15", "11-25 16:25", True),
    ("5分钟前", "11-25 16:20", "11-25 16:30", True),
    ("两个小时前", "11-25 14:00", "11-25 15:00", True),
    ("1小时前", "11-25 15:00", "11-25 16:00", True),
    ("一个半小时前", "11-25 14:30", "11-25 15:30", True),
    # Day periods.
    ("上午", "11-25 08:00", "11-25 12:00", True),
    ("中午", "11-25 11:00", "11-25 14:00", True),
    ("下午", "11-25 12:00", "11-25 16:30", True),
    ("早上", "11-25 06:00", "11-25 10:00", True),
    ("凌晨", "11-25 00:00", "11-25 06:00", True),
    ("傍晚", "11-24 17:00", "11-24 19:30", True),
    ("晚上", "11-24 18:00", "11-25 00:00", True),
    ("昨晚", "11-24 18:00", "11-25 00:00", True),
    ("今早", "11-25 06:00", "11-25 10:00", True),
    ("昨天上午", "11-24 08:00", "11-24 12:00", True),
    ("周一下午", "11-23 12:00", "11-23 18:00", True),
    # Whole days.
    ("今天", "11-25 00:00", "11-25 16:30", True),
    ("昨天", "11-24 00:00", "11-25 00:00", True),
    ("前天", "11-23 00:00", "11-24 00:00", True),
    ("大前天", "11-22 00:00", "11-23 00:00", True),
    ("周一", "11-23 00:00", "11-24 00:00", True),
    ("周三", "11-25 00:00", "11-25 16:30", True),
    ("周四", "11-19 00:00", "11-20 00:00", True),
    ("周日", "11-22 00:00", "11-23 00:00", True),
    ("星期天", "11-22 00:00", "11-23 00:00", True),
    ("礼拜五", "11-20 00:00", "11-21 00:00", True),
    ("上周一", "11-16 00:00", "11-17 00:00", True),
    ("上周五", "11-20 00:00", "11-21 00:00", True),
    ("上星期三", "11-18 00:00", "11-19 00:00", True),
    ("11月20日", "11-20 00:00", "11-21 00:00", True),
    ("十一月二十日", "11-20 00:00", "11-21 00:00", True),
    ("11月20号", "11-20 00:00", "11-21 00:00", True),
    ("11-20", "11-20 00:00", "11-21 00:00", True),
    ("11/20", "11-20 00:00", "11-21 00:00", True),
    ("2026-11-20", "11-20 00:00", "11-21 00:00", True),
    ("2026年11月20日", "11-20 00:00", "11-21 00:00", True),
    ("20号", "11-20 00:00", "11-21 00:00", True),
    ("28号", "10-28 00:00", "10-29 00:00", True),
    ("31号", "10-31 00:00", "11-01 00:00", True),
    ("二十号那笔", "11-20 00:00", "11-21 00:00", True),
]

MORNING_CASES = [
    ("九点", "11-25 09:00", "11-25 09:40", True),
    ("八点半", "11-25 08:30", "11-25 08:31", False),
    ("三点", "11-25 03:00", "11-25 04:00", True),
    ("十点", "11-24 22:00", "11-24 23:00", True),
    ("十点十分", "11-24 22:10", "11-24 22:11", False),
    ("十二点", "11-25 00:00", "11-25 01:00", True),
    ("上午十点", "11-24 10:00", "11-24 11:00", True),
    ("下午", "11-24 12:00", "11-24 18:00", True),
    ("晚上", "11-24 18:00", "11-25 00:00", True),
    ("昨天五点", "11-24 17:00", "11-24 18:00", True),
    ("昨天九点", "11-24 09:00", "11-24 10:00", True),
    ("今天", "11-25 00:00", "11-25 09:40", True),
    ("刚才", "11-25 09:10", "11-25 09:40", True),
    ("早上", "11-25 06:00", "11-25 09:40", True),
]


@pytest.mark.parametrize(("text", "start", "end", "vague"), AFTERNOON_CASES)
def test_parse_time_afternoon(text: str, start: str, end: str, vague: bool) -> None:
    assert parse_time(text, NOW) == TimeWindow(_at(start), _at(end), vague)


@pytest.mark.parametrize(("text", "start", "end", "vague"), MORNING_CASES)
def test_parse_time_morning(text: str, start: str, end: str, vague: bool) -> None:
    assert parse_time(text, MORNING) == TimeWindow(_at(start), _at(end), vague)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "你好",
        "380",
        "三百二十元",
        "三点五元",
        "320块5",
        "参考号123456789012",
        "凭证号000123",
        "尾号1234",
        "刷了两笔",
        "扣了两次",
        "今晚",
        "2026-12-01",
        "2026-11-31",
        "13月5日",
    ],
)
def test_no_time(text: str) -> None:
    assert parse_time(text, NOW) is None


def test_explicit_today_in_future_is_none() -> None:
    assert parse_time("今天十点", MORNING) is None


def test_month_day_after_today_is_last_year() -> None:
    window = parse_time("11月30日", NOW)
    assert window is not None
    assert window.start == dt.datetime(2025, 11, 30, tzinfo=TZ)
    assert window.end == dt.datetime(2025, 12, 1, tzinfo=TZ)


def test_now_in_other_zone_is_converted() -> None:
    utc_now = NOW.astimezone(dt.timezone.utc)
    window = parse_time("14:05", utc_now)
    assert window == TimeWindow(_at("11-25 14:05"), _at("11-25 14:06"), False)
    assert window.start.tzinfo == TZ


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        parse_time("14:05", dt.datetime(2026, 11, 25, 16, 30))


@pytest.mark.parametrize(
    "text", ["四点", "今天", "下午", "刚才", "5分钟前", "三点左右", "16:30", "周三"]
)
def test_window_never_ends_in_future(text: str) -> None:
    window = parse_time(text, NOW)
    assert window is not None
    assert window.start < window.end <= NOW + dt.timedelta(minutes=1)
