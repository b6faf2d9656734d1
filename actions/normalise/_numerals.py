"""Read Arabic, Chinese and financial (大写) numerals exactly, and say when a reading is unsure.

The 大写 rules (People's Bank of China, on writing amounts on bills): 零 stands for skipped
positions, one 零 may stand for a run of zeros, 拾 may open a number without 壹. A redundant 零
(壹仟零伍佰), a trailing 零, or a 大写 number whose last digit has no unit (壹仟伍: 1500 said
the colloquial way, or 1005 with its 零 forgotten) is read, but as unsure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

DIGIT_CHARS = "零〇一幺二两三四五六七八九壹贰貳叁參肆伍陆陸柒捌玖"
UNIT_CHARS = "十拾百佰千仟万萬亿億"
CAPITAL_CHARS = "壹贰貳叁參肆伍陆陸柒捌玖拾佰仟"
_DIGIT = {ch: i for i, ch in enumerate("零一二三四五六七八九")}
_DIGIT.update({"〇": 0, "幺": 1, "两": 2, "貳": 2, "參": 3, "陸": 6})
_DIGIT.update({ch: i + 1 for i, ch in enumerate("壹贰叁肆伍陆柒捌玖")})
_SMALL = {"十": 1, "拾": 1, "百": 2, "佰": 2, "千": 3, "仟": 3}
_BIG = {"万": 4, "萬": 4, "亿": 8, "億": 8}
_TOKEN = re.compile(r"\d+(?:\.\d+)?|.")
# Two digits said together name a range (三五百, 一两百, 七八块), not a number.
RANGE_PAIRS = (
    "一二", "一两", "二三", "两三", "三四", "四五", "五六", "六七", "七八", "八九", "三五",
)  # fmt: skip


@dataclass(frozen=True)
class Numeral:
    """A number read from text; ``sure`` is False when the writing breaks the rules."""

    value: Decimal
    sure: bool = True


def digit(ch: str) -> int | None:
    """Return the value of one Arabic or Chinese digit character."""
    return int(ch) if ch.isascii() and ch.isdigit() else _DIGIT.get(ch)


def is_capital(text: str) -> bool:
    """Tell whether the text uses the financial (大写) numerals."""
    return any(ch in CAPITAL_CHARS for ch in text)


def _digit_string(text: str) -> Numeral | None:
    """Chinese digits read one by one (一二八, 幺零五): unsure, they are how ids are read."""
    if len(text) == 2 and text in RANGE_PAIRS:
        return None
    return Numeral(Decimal("".join(str(_DIGIT[ch]) for ch in text)), sure=False)


@dataclass
class _Digit:
    section: int
    place: int
    after_zero: bool


class _Reader:
    """One left-to-right pass over a numeral's tokens, with its sections (万, 亿) kept apart."""

    def __init__(self) -> None:
        self.closed = Decimal(0)  # sections closed by 万 or 亿
        self.section = Decimal(0)
        self.pending: tuple[Decimal, str, bool] | None = None  # value, token, after 零
        self.last_small: int | None = None
        self.last_big = 0
        self.zero = False
        self.sure = True
        self.chinese_only = True
        self.digits: list[_Digit] = []
        self.section_exp: list[int] = [0]
        self.since_yi: list[int] = [0]

    def number(self, token: str) -> bool:
        if self.pending is not None:
            return False
        if token[0].isdigit():
            self.chinese_only = False
            self.pending = (Decimal(token), token, self.zero)
        else:
            self.pending = (Decimal(_DIGIT[token]), token, self.zero)
        self.zero = False
        return True

    def small_unit(self, exp: int) -> bool:
        if self.last_small is not None and exp >= self.last_small:
            return False
        if self.pending is None:
            at_start = not self.digits and self.closed == 0 and not self.zero
            if exp != 1:
                return False
            self.sure = self.sure and at_start  # 拾 opens a number; inside one it takes 壹
            coef, after_zero = Decimal(1), self.zero
        else:
            coef, _, after_zero = self.pending
        if coef:
            self.digits.append(_Digit(len(self.section_exp) - 1, exp, after_zero))
        self.section += coef * 10**exp
        self.last_small, self.pending, self.zero = exp, None, False
        return True

    def big_unit(self, exp: int) -> bool:
        if self.zero and self.pending is None:
            return False
        if self.pending is not None:
            value, _, after_zero = self.pending
            self.section += value
            self.digits.append(_Digit(len(self.section_exp) - 1, 0, after_zero))
        if self.section == 0 or (self.last_big and exp >= self.last_big and exp == 4):
            return False
        self.closed = (self.closed + self.section) * 10**exp if exp == 8 else self.closed
        if exp == 4:
            self.closed += self.section * 10**exp
        index = len(self.section_exp) - 1
        self.section_exp[index] = exp
        if exp == 8:
            for earlier in self.since_yi[:-1]:
                self.section_exp[earlier] += 8
            self.since_yi = []
        self.section_exp.append(0)
        self.since_yi.append(index + 1)
        self.section, self.pending, self.last_small, self.last_big = Decimal(0), None, None, exp
        return True

    def finish(self) -> Numeral:
        if self.pending is not None:
            value, token, after_zero = self.pending
            place = 0
            elided = not after_zero and len(token) == 1
            if elided and self.last_small not in (None, 1):
                place = (self.last_small or 1) - 1  # 三百五: one place below the last unit
            elif elided and self.last_small is None and self.last_big:
                place = self.last_big - 1  # 一万二: one place below 万
            if place and is_capital(token):
                self.sure = False  # 壹仟伍: 1500 said, or 1005 with its 零 forgotten
            self.section += value * 10**place
            self.digits.append(_Digit(len(self.section_exp) - 1, place, after_zero))
        elif self.zero:
            self.sure = False  # a trailing 零 (伍佰零元) skips nothing
        if self.chinese_only and not self._zeros_regular():
            self.sure = False
        return Numeral(self.closed + self.section, self.sure)

    def _zeros_regular(self) -> bool:
        """Every 零 skips at least one position; the first digit has no 零 before it."""
        places = [d.place + self.section_exp[d.section] for d in self.digits]
        for i, d in enumerate(self.digits):
            if d.after_zero and (i == 0 or places[i - 1] - places[i] <= 1):
                return False
        return True


def read_integer(text: str) -> Numeral | None:
    """Read a whole (or 点 decimal) number: 1280, 1.2万, 两万三, 壹仟零伍, 三点五; None if not one.

    A range (三五百) is no number either.
    """
    if not text:
        return None
    if "点" in text:
        whole, _, frac = text.partition("点")
        head = read_integer(whole)
        tail = [digit(ch) for ch in frac]
        if head is None or not tail or None in tail or head.value % 1:
            return None
        return Numeral(Decimal(f"{head.value}." + "".join(map(str, tail))), head.sure)
    if text in ("零", "〇"):
        return Numeral(Decimal(0))
    if len(text) > 1 and all(ch in _DIGIT for ch in text):
        return _digit_string(text)
    reader = _Reader()
    try:
        for token in _TOKEN.findall(text):
            if token[0].isdigit() or (token in _DIGIT and token not in "零〇"):
                ok = reader.number(token)
            elif token in "零〇":
                ok = reader.pending is None
                reader.zero = True
            elif token in _SMALL:
                ok = reader.small_unit(_SMALL[token])
            elif token in _BIG:
                ok = reader.big_unit(_BIG[token])
            else:
                ok = False
            if not ok:
                return None
        return reader.finish()
    except InvalidOperation:
        return None
