"""Turn what the merchant said into the normalised slot values the service expects."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from actions.normalise import (
    only_in_tickets,
    parse_card_last4,
    parse_reference,
    parse_time,
    read_amount,
    spelling,
)
from actions.normalise._clock import find_clock, find_period, find_relative
from actions.normalise._days import find_day, find_span
from actions.normalise._masks import MASK, mask_non_amounts
from actions.normalise._text import fold_width
from actions.normalise.timewindow import shanghai

UNKNOWN_REF = "unknown"
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_NORMALISED_AMOUNT = re.compile(r"\d{1,7}\.\d{2}")
_BARE_LAST4 = re.compile(r"\D{0,3}(\d{4})\D{0,6}")
# The value being taken back: "不是500是580", "是88元不是八百八", "刚才说成1,050了",
# "我记成昨天了", "刚才说的990不对". Every mention is annotated in the NLU data, so the
# entities hold both values and these patterns decide which one is meant.
_END = r"[\s。；;！!？?]|[，,](?!\d)|(?<!\d)[，,]|$"
_CHAR = r"(?:[^，,。；;！!？?\s]|(?<=\d),(?=\d))"  # a clause's character: 1,820 is one value
_VALUE = rf"({_CHAR}+?)"
_RETRACTED = re.compile(
    "|".join(
        (
            rf"(?:而不是|不是|并非)\s*{_VALUE}(?={_END}|是)",
            rf"(?:说|打|记|写|输|看|弄)成了?\s*{_VALUE}(?={_END}|了)",
            rf"说的\s*{_VALUE}\s*(?:不对|错了|是错的)",
            r"(?<![^\s，,。；;！!？?])([0-9０-９][0-9０-９,.]*)\s*(?:不对|错了|是错的)",
        )
    )
)
_PARTICLES = "啊呀呢吧的了哦嘛啦"
# The merchant corrects something said before, whatever the NLU called the message.
_CORRECTION = re.compile(
    r"说错|打错|写错|看错|记错|弄错|搞错|不对|应该是|改成|改为|更正|才对|不是.{1,12}是"
)
# "我刚才说成88了": 刚才 says when the merchant spoke, not when the card was used.
_WHEN_SAID = re.compile(
    r"(?:继续|接着|回到)(?:刚才|刚刚|之前|上次)"
    r"|(?:刚才|刚刚|之前|前面|上面|上次)(?=\s*(?:你|我)?(?:说|讲|发|写|输|记|问|聊|提|忘|查|那个时间|的时间))"
)
_JUST_NOW_ONLY = re.compile(r"^(?:刚才|刚刚|方才|之前|上次)$")
_CLAUSE = re.compile(rf"{_CHAR}+")
MAX_AMOUNT = 10_000_000


def now_shanghai() -> dt.datetime:
    """Return the current time in Asia/Shanghai."""
    return dt.datetime.now(shanghai())


def candidates(value: Any) -> list[str]:
    """List the string values of a slot (entity mappings may give a list)."""
    if value is None:
        return []
    items: Iterable[Any] = value if isinstance(value, list) else [value]
    # The NLU's values are spans of what the merchant wrote: fold them like the text.
    return [spelling.fold(str(item)) for item in items if item is not None and str(item).strip()]


def retracted_spans(text: str) -> list[tuple[int, int]]:
    """Where the values taken back sit in the text, trailing particles left out."""
    spans = []
    for match in _RETRACTED.finditer(text):
        start, end = match.span(match.lastindex)  # each alternative has one group
        spans.append((start, start + len(text[start:end].rstrip(_PARTICLES))))
    return spans


def retracted(text: str) -> list[str]:
    """Values the merchant takes back in this message: 不是下午 是上午 -> ["下午"]."""
    return [text[start:end] for start, end in retracted_spans(text) if end > start]


def asserted(value: Any, text: str) -> list[str]:
    """The slot's candidate values minus those the merchant took back.

    What the NLU took from a ticket number (DD-20261203-0007, 工单号…) was never said either.
    """
    taken_back = retracted(text)
    return [v for v in candidates(value) if v not in taken_back and not only_in_tickets(v, text)]


def _heard(value: Any, text: str) -> tuple[list[str], str]:
    """The values still meant, and the message with every "不是 <value>" cut out."""
    return asserted(value, text), _RETRACTED.sub(" ", text)


def order_ref(value: Any, text: str) -> str | None:
    """Return a normalised reference, "unknown", or None when nothing usable was said."""
    values, text = _heard(value, text)
    if UNKNOWN_REF in values:
        return UNKNOWN_REF
    if any(v in text for v in values) or not values:
        found = parse_reference(text)
        if found is not None:
            return found.value
    for v in values:
        # Only what has a reference's shape, and never the terminal number (终端号31001102).
        found = parse_reference(v)
        if found is not None and found.value != terminal_named(text):
            return found.value
    return None


def parse_interval(value: str) -> tuple[dt.datetime, dt.datetime] | None:
    """Read back an ISO 8601 "START/END" interval written by txn_time()."""
    start, sep, end = value.partition("/")
    if not sep:
        return None
    try:
        begin, finish = dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end)
    except ValueError:
        return None
    if begin.tzinfo is None or finish.tzinfo is None:
        return None
    return begin, finish


def only_when_said(value: Any, text: str) -> bool:
    """True when every time the NLU heard only says when the merchant spoke (刚才说成…)."""
    said, rest = set(_WHEN_SAID.findall(text)), _WHEN_SAID.sub(" ", text)
    values = candidates(value)
    return bool(values) and all(v in said and v not in rest for v in values)


def says_correction(text: str) -> bool:
    """Tell whether the message corrects a value said before (说错了, 改成, 应该是, X才对)."""
    return _CORRECTION.search(text) is not None


_JUST_NOW_WORDS = re.compile(r"刚才|刚刚|方才|之前|上次")


def says_just_now(text: str) -> bool:
    """True when the only time in the text is 刚才 and the like (刚才那笔顾客说扣了)."""
    return (
        bool(_JUST_NOW_WORDS.search(text))
        and parse_time(_JUST_NOW_WORDS.sub(" ", text), now_shanghai()) is None
    )


def about_the_conversation(value: Any, held: Any) -> bool:
    """刚才 / 之前 said when a time is already held points back at this conversation (刚才那笔
    顾客说扣了), not at a new transaction time."""
    values = candidates(value)
    return bool(held) and bool(values) and all(_JUST_NOW_ONLY.match(v.strip()) for v in values)


def txn_time(value: Any, text: str, now: dt.datetime) -> str | None:
    """Return the time the merchant gave as an ISO 8601 interval, or None."""
    values, text = _heard(value, _WHEN_SAID.sub(" ", text))
    for v in values:
        if parse_interval(v) is not None:
            return v
    sources = [text, *values] if any(v in text for v in values) or not values else values
    for source in sources:
        window = parse_time(source, now)
        if window is not None:
            start, end = (t.replace(microsecond=0) for t in (window.start, window.end))
            return f"{start.isoformat()}/{end.isoformat()}"
    return None


def _says_only_clock(text: str, now: dt.datetime) -> bool:
    """True when the text names a clock time or a part of the day, but no day of its own."""
    norm = fold_width(text).lower()
    if find_relative(norm, now) is not None:
        return False
    if find_day(norm, now.date()) is not None or find_span(norm, now.date()) is not None:
        return False
    return find_clock(norm) is not None or find_period(norm) is not None


def _part_of_day(moment: dt.datetime) -> str:
    """The part of the day a moment falls in, as a merchant names it (for 改成八点半)."""
    if moment.hour >= 18:
        return "晚上"
    return "下午" if moment.hour >= 12 else ""


def refine_time(held: Any, text: str, now: dt.datetime, *, correcting: bool = False) -> str | None:
    """Put a clock time said later on the day said before: 11月24号 … 下午两点左右.

    Only a window of a whole day (or part of one) is refined, and the result must lie inside
    it. A correction (改成八点三十五) moves the clock within the same day and part of the day.
    """
    interval = parse_interval(str(held)) if held else None
    if interval is None or not _says_only_clock(text, now):
        return None
    start, end = (t.astimezone(shanghai()) for t in interval)
    if (end - dt.timedelta(minutes=1)).date() != start.date():
        return None
    if not correcting and end - start < dt.timedelta(hours=2):
        return None
    day = start.date()
    part = _part_of_day(start) if correcting and not find_period(fold_width(text)) else ""
    window = parse_time(f"{day.year}年{day.month}月{day.day}日 {part}{text}", now)
    if window is None:
        return None
    if not correcting and (window.start < start or window.end > end + dt.timedelta(minutes=30)):
        return None
    begin, finish = (t.replace(microsecond=0) for t in (window.start, window.end))
    return f"{begin.isoformat()}/{finish.isoformat()}"


def _inside_non_amount(value: str, text: str) -> bool:
    """True when every occurrence of the value in the text is masked as a non-amount."""
    folded = fold_width(text).lower()
    masked = mask_non_amounts(folded)
    needle = fold_width(value).lower().strip()
    starts = [m.start() for m in re.finditer(re.escape(needle), folded)] if needle else []
    return bool(starts) and all(set(masked[i : i + len(needle)]) == {MASK} for i in starts)


def amount(value: Any, text: str, *, bare: bool = False) -> str | None:
    """Return the amount as a decimal string with two places, or None.

    ``bare``: the message is known to be about the amount, so a unit-less number is one.
    Only a sure reading counts: an unsure one (壹仟伍元) is confirmed first (amount_to_confirm).
    """
    reading = amount_reading(value, text, bare=bare)
    return reading[0] if reading is not None and reading[1] else None


def amount_to_confirm(value: Any, text: str, *, bare: bool = False) -> str | None:
    """Return the amount to confirm with the merchant when the only reading is unsure."""
    reading = amount_reading(value, text, bare=bare)
    return reading[0] if reading is not None and not reading[1] else None


def amount_reading(value: Any, text: str, *, bare: bool = False) -> tuple[str, bool] | None:
    """Return the amount as a decimal string with two places and whether it is sure.

    A sure reading from any source beats an unsure one.
    """
    readings = list(_amount_readings(value, text, bare=bare))
    return next((r for r in readings if r[1]), readings[0] if readings else None)


def _amount_readings(value: Any, text: str, *, bare: bool) -> Iterable[tuple[str, bool]]:
    values, text = _heard(value, text)
    # The NLU sometimes tags a clock minute (十点四十五), a card tail or a ticket as an amount:
    # a value that lies wholly inside such a span of the text is not one.
    values = [v for v in values if not _inside_non_amount(v, text)]
    # The NLU may cut an amount short (320块 of 320块5): read on to the end of the clause.
    clauses = [_CLAUSE.match(text, text.index(v)) for v in values if v in text]
    sources = [m.group(0) for m in clauses if m] + values
    sources += [text] if any(v in text for v in values) or not values else []
    for source in sources:
        if _NORMALISED_AMOUNT.fullmatch(source):
            parsed, sure = source, True
        else:
            found = read_amount(source, bare=bare)
            parsed, sure = (None, False) if found is None else (f"{found.value:.2f}", found.sure)
        if parsed is not None and 0 < Decimal(parsed) < MAX_AMOUNT:
            yield parsed, sure


def card_last4(value: Any, text: str, *, bare_allowed: bool = False) -> str | None:
    """Return four card digits; a bare "6688" only counts when we just asked for it."""
    for v in candidates(value):
        folded = v.translate(_FULL_WIDTH_DIGITS).strip()
        if re.fullmatch(r"\d{4}", folded):
            return folded
    for source in [text, *candidates(value)]:
        found = parse_card_last4(source)
        if found is not None:
            return found
    if bare_allowed:
        match = _BARE_LAST4.fullmatch(text.translate(_FULL_WIDTH_DIGITS).strip())
        if match:
            return match.group(1)
    return None


_TERMINAL_NO = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{0,6}\d{2})(?![0-9A-Za-z])")
_SCREEN_FAILED = re.compile(
    r"失败|超时|没成功|不成功|没反应|没出小票|没打印|没有小票|报错|错误|卡住|拒绝"
)
_SCREEN_OK = re.compile(r"成功|出了小票|打了小票|打出来|小票出来|签购单出来|正常")


_LABELLED_TERMINAL = re.compile(
    r"终端(?:号|编号)?(?:是|为|:|：|\s)*([0-9A-Za-z]{8})(?![0-9A-Za-z])"
)


def terminal_named(text: str) -> str | None:
    """A terminal number the merchant labels as one (终端号30000003), asked for or not."""
    found = _LABELLED_TERMINAL.search(text.translate(_FULL_WIDTH_DIGITS))
    return found.group(1).upper() if found else None


def terminal_answer(text: str) -> str | None:
    """The terminal number (or its last digits) a merchant answers "which terminal" with."""
    found = _TERMINAL_NO.findall(text.translate(_FULL_WIDTH_DIGITS))
    return found[-1].upper() if found else None


def screen_answer(text: str) -> str | None:
    """What the terminal showed, as the service's words: success or failure."""
    if _SCREEN_FAILED.search(text):
        return "failure"
    if _SCREEN_OK.search(text):
        return "success"
    return None


_NEAR_DAYS = {-2: "前天", -1: "昨天", 0: "今天", 1: "明天", 2: "后天"}


def _day_label(day: dt.date, today: dt.date) -> str:
    return _NEAR_DAYS.get((day - today).days) or f"{day.month}月{day.day}日"


def describe_moment(value: str | None, now: dt.datetime) -> str | None:
    """Say an ISO 8601 moment the way a merchant would: 明天 09:00, 12月5日 09:00."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    local = moment.astimezone(shanghai())
    return f"{_day_label(local.date(), now.astimezone(shanghai()).date())} {local:%H:%M}"


def describe_time(value: str, now: dt.datetime) -> str:
    """Say an interval the way a merchant would: 今天 15:00–16:00."""
    interval = parse_interval(value)
    if interval is None:
        return value
    start, end = (t.astimezone(shanghai()) for t in interval)
    today = now.astimezone(shanghai()).date()
    last = end - dt.timedelta(minutes=1)
    if start.time() == dt.time() and end.time() == dt.time():
        if last.date() == start.date():
            return _day_label(start.date(), today)
        return f"{_day_label(start.date(), today)}到{_day_label(last.date(), today)}"
    if end - start <= dt.timedelta(minutes=1):
        return f"{_day_label(start.date(), today)} {start:%H:%M}"
    if end.date() == start.date() or last.date() == start.date():
        return f"{_day_label(start.date(), today)} {start:%H:%M}–{end:%H:%M}"
    first, second = _day_label(start.date(), today), _day_label(end.date(), today)
    return f"{first} {start:%H:%M}–{second} {end:%H:%M}"


def describe_ref(value: str) -> str:
    """Name a reference by its shape, as merchants read it off the slip."""
    if value == UNKNOWN_REF:
        return "没有单号"
    if re.fullmatch(r"\d{6}", value):
        return f"凭证号 {value}"
    if len(value) == 12:
        return f"参考号 {value}"
    return f"单号 {value}"


def heard(slots: dict[str, Any], now: dt.datetime) -> str:
    """Summarise what we are looking up: 参考号 612300000001，今天 15:00–16:00，¥320.50."""
    parts = []
    if slots.get("order_ref"):
        parts.append(describe_ref(str(slots["order_ref"])))
    if slots.get("txn_time"):
        parts.append(describe_time(str(slots["txn_time"]), now))
    if slots.get("amount"):
        parts.append(f"¥{slots['amount']}")
    if slots.get("card_last4"):
        parts.append(f"卡尾号 {slots['card_last4']}")
    if slots.get("terminal_no"):
        parts.append(f"终端 {slots['terminal_no']}")
    if slots.get("screen_shown"):
        parts.append("当时显示成功" if slots["screen_shown"] == "success" else "当时显示失败")
    return "，".join(parts) if parts else "您说的那笔交易"


def parse_date(value: str | None) -> dt.date | None:
    """Read the day of an ISO 8601 date or moment (None when absent or unreadable)."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def describe_date(value: str | None, today: dt.date, default: str = "近期") -> str:
    """Say a day as seen from today: 明天, 前天, 11月26日 (unreadable dates stay as given)."""
    day = parse_date(value)
    if day is None:
        return value or default
    return _day_label(day, today)
