"""Read one money phrase (三块五, 壹拾元零伍分, 1,280.00元, 五毛五) into an exact amount."""

from __future__ import annotations

import re
from decimal import Decimal

from ._numerals import DIGIT_CHARS, Numeral, digit, is_capital, read_integer

_D = rf"[0-9{DIGIT_CHARS.replace('零', '').replace('〇', '')}]"
# What follows 元/块: [零] jiao 角/毛 | 零角, [零] fen [分]. 零 marks a skipped position.
_FRACTION = re.compile(
    rf"(?P<z1>[零〇])?(?:(?P<jiao>{_D})[角毛]|(?P<zero_jiao>[零〇]角))?"
    rf"(?P<z2>[零〇])?(?:(?P<fen>{_D})(?P<fen_unit>分)?)?"
)
_SPLIT = re.compile(r"(?P<int>[^元圆块角毛分]*)(?P<yuan>[元圆块])?(?P<rest>.*)")


def _fraction(rest: str, yuan: Numeral | None, capital: bool) -> Numeral | None:
    """Read what follows the yuan unit (or the whole phrase without one) in cents."""
    if re.fullmatch(r"\d\d", rest) and yuan is not None:
        return Numeral(Decimal(rest) / 100, sure=False)  # 320块50: cents, or a slip of the pen
    m = _FRACTION.fullmatch(rest)
    if m is None or (m["z2"] and not m["fen"]):
        return None
    jiao, fen, sure = Decimal(0), Decimal(0), True
    units_digit_zero = yuan is not None and yuan.value % 10 == 0 and yuan.value > 0
    if m["jiao"]:
        jiao = Decimal(digit(m["jiao"]) or 0)
        # 零 after 元 stands for a zero 元位 (壹仟陆佰捌拾元零叁角), nothing else.
        sure = not m["z1"] or units_digit_zero
    elif m["zero_jiao"] and not m["fen"]:
        return None
    if m["fen"]:
        value = Decimal(digit(m["fen"]) or 0)
        if m["fen_unit"]:
            fen = value
            sure = sure and not (m["z2"] and (m["jiao"] or m["zero_jiao"]))
        elif m["jiao"] or m["zero_jiao"] or m["z1"]:
            fen = value  # 五毛五, 一块零五: the unit below the last one said
            sure = sure and not capital and not m["z2"] and not m["zero_jiao"]
        else:
            jiao = value  # 三块五: the jiao
            sure = sure and not capital
    elif m["z1"] and not m["jiao"]:
        return None
    return Numeral(jiao / 10 + fen / 100, sure)


def read_money(body: str, *, qian: bool = False) -> Numeral | None:
    """Read a phrase with its money units; None when it is no amount or a range.

    Without 元/块/角/毛 a lone 分 is money only with 钱 or in 大写 (五分 may be minutes).
    """
    body = body.rstrip("整正")
    capital = is_capital(body)
    parts = _SPLIT.fullmatch(body)
    if parts is None:
        return None
    if parts["yuan"]:
        yuan = read_integer(re.sub("[,']", "", parts["int"]))
        if yuan is None:
            return None
        rest = parts["rest"]
        if not rest:
            return yuan
        if yuan.value % 1:
            return None  # 3.5元5角
    else:
        if not re.search("[角毛]", body) and not (qian or capital):
            return None
        yuan, rest = None, body
    cents = _fraction(rest, yuan, capital)
    if cents is None:
        return None
    whole = yuan or Numeral(Decimal(0))
    return Numeral(whole.value + cents.value, whole.sure and cents.sure)
