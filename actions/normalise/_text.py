"""Share text folding and Chinese-numeral helpers for the normalisers."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

# Numeral characters: plain digits, units, and the financial (大写) forms.
CN_DIGITS = "零〇一二两三四五六七八九"
CN_UNITS = "十百千万亿"
CN_FINANCE = "壹贰叁肆伍陆柒捌玖拾佰仟"
CN_NUM = CN_DIGITS + CN_UNITS + CN_FINANCE

_DIGIT_VALUE = {ch: i for i, ch in enumerate("零一二三四五六七八九")}
_DIGIT_VALUE.update({"〇": 0, "两": 2})
_DIGIT_VALUE.update({ch: i + 1 for i, ch in enumerate("壹贰叁肆伍陆柒捌玖")})
_DIGIT_VALUE.update({str(i): i for i in range(10)})

_UNIT_VALUE = {"十": 10, "百": 100, "千": 1000, "万": 10**4, "亿": 10**8}

# Full-width ASCII (U+FF01..U+FF5E) folds to ASCII, except the full-width comma,
# which in Chinese text separates clauses rather than thousands.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if cp != 0xFF0C}
_FOLD[0x3000] = ord(" ")
_FOLD[0xFFE5] = ord("¥")

_ARABIC = re.compile(r"\d+(?:\.\d+)?")
_ARABIC_UNIT = re.compile(r"(\d+(?:\.\d+)?)([十百千万亿]+)([0-9一二两三四五六七八九]?)")


def fold_width(text: str) -> str:
    """Fold full-width ASCII characters and the ideographic space to ASCII."""
    return text.translate(_FOLD)


def digit_value(ch: str) -> int | None:
    """Return the value of one Arabic or Chinese digit character."""
    return _DIGIT_VALUE.get(ch)


@cache
def _cn2an() -> Callable[..., Any]:
    """Import cn2an lazily, since it reads its config files when imported."""
    import cn2an  # type: ignore[import-untyped,import-not-found,unused-ignore]

    converter: Callable[..., Any] = cn2an.cn2an
    return converter


def cn_to_int(text: str) -> int | None:
    """Convert a pure Chinese numeral such as 两万三 or 一千零五十 to an int."""
    if not text or any(ch not in CN_NUM for ch in text):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = _cn2an()(text, "normal")
        except Exception:  # cn2an raises plain ValueError and friends on bad input
            return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def number_value(token: str) -> Decimal | None:
    """Convert an Arabic, Chinese or mixed numeral (1.2万, 三点五) to a Decimal."""
    token = token.strip()
    if not token:
        return None
    try:
        if _ARABIC.fullmatch(token):
            return Decimal(token)
        mixed = _ARABIC_UNIT.fullmatch(token)
        if mixed:
            multiplier = 1
            for unit in mixed[2]:
                multiplier *= _UNIT_VALUE[unit]
            value = Decimal(mixed[1]) * multiplier
            if mixed[3]:
                # Spoken elision: 2万5 means 2万5千, i.e. one unit below the last one.
                value += (digit_value(mixed[3]) or 0) * multiplier // 10
            return value
    except InvalidOperation:
        return None
    if "点" in token:
        whole, _, frac = token.partition("点")
        whole_value = cn_to_int(whole)
        frac_digits = [digit_value(ch) for ch in frac]
        if whole_value is None or not frac_digits or None in frac_digits:
            return None
        return Decimal(f"{whole_value}." + "".join(str(d) for d in frac_digits))
    if any(ch.isdigit() for ch in token):
        # Mixed forms like 2万3千: spell the Arabic digits out and let cn2an decide.
        if re.search(r"\d{2,}", token):
            return None
        token = "".join("零一二三四五六七八九"[int(ch)] if ch.isdigit() else ch for ch in token)
    integer = cn_to_int(token)
    return None if integer is None else Decimal(integer)


def small_int(token: str) -> int | None:
    """Convert a short Arabic or Chinese numeral (14, 二十, 零五) to an int."""
    value = number_value(token)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)
