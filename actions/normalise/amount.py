"""Find the money amount a merchant means in free text."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from ._masks import MASK, mask_non_amounts
from ._text import CN_DIGITS, CN_NUM, digit_value, fold_width, number_value

_CENT = Decimal("0.01")
_D = "0-9一二两三四五六七八九"  # one jiao/fen digit
_NUM = (
    rf"(?:(?<![0-9a-z.])\d+(?:\.\d+)?(?:[十百千万亿][0-9{CN_NUM}]*)?"
    rf"|[{CN_NUM}]+(?:点[{CN_DIGITS}]+)?)"
)
# ¥ prefix or a 元/块 suffix, with the spoken jiao/fen tail: 320块5, 一百块零五毛, 八毛八.
_WITH_UNIT = re.compile(
    rf"(?P<pre>¥\s*)?(?P<num>{_NUM})\s*(?P<unit>元|块|圆|¥)?钱?"
    rf"(?:(?<=[元块圆钱])零?(?P<jiao>[{_D}])(?:[毛角](?:零?(?P<fen>[{_D}])分?)?)?"
    rf"(?![0-9{CN_NUM}点.]))?整?"
)
_JIAO_ONLY = re.compile(
    rf"(?<![0-9{CN_NUM}])(?P<jiao>[{_D}])[毛角](?:(?P<fen>[{_D}])分?)?(?![0-9{CN_NUM}])"
)
_CONTEXT = re.compile(
    r"(?:金额|钱|收款|刷了|扣了|扣款|付了|付款|支付了?|消费了?|收了|每笔|每次|一共|总共)"
    rf"(?:是|为|了|:|\s|{MASK}|大概|大约|约|差不多|应该是|一共|总共|共)*"
    rf"(?P<num>{_NUM})(?![0-9a-z.:{CN_NUM}])"
)
_DECIMAL = re.compile(rf"(?<![0-9a-z.:¥_])(?P<num>\d{{1,7}}\.\d{{1,2}})(?![0-9a-z.%_{CN_NUM}])")
_BARE = re.compile(rf"(?<![0-9{CN_NUM}.])(?P<num>{_NUM})(?![0-9a-z.:{CN_NUM}])")
_FILLER_HEAD = re.compile(r"^(?:金额|大概|大约|约|差不多|应该|就是|是|为|一共|总共)+")
_FILLER_TAIL = re.compile(r"(?:左右|上下|吧|啊|呀|的|多)+$")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _clean(text: str) -> str:
    """Fold widths, lowercase, and turn currency words into a ¥ sign."""
    text = _THOUSANDS.sub("", fold_width(text)).lower()
    return re.sub(r"rmb|cny|人民币", " ¥ ", text)


def _bare_value(token: str, max_digits: int) -> Decimal | None:
    """Value a unit-less number, refusing IDs (too long, leading zero)."""
    if token[0].isdigit():
        whole = token.split(".")[0]
        if len(whole) > max_digits or (len(whole) > 1 and whole[0] == "0"):
            return None
    if token in ("零", "〇"):
        return None
    return number_value(token)


def _unit_candidates(masked: str) -> tuple[list[tuple[int, Decimal]], str]:
    """Collect amounts carrying a currency unit; return them and the rest of the text."""
    found: list[tuple[int, Decimal]] = []
    rest = list(masked)
    for m in _WITH_UNIT.finditer(masked):
        if not (m["pre"] or m["unit"]):
            continue
        num = m["num"]
        if num[0].isdigit() and len(num.split(".")[0]) > 9:
            continue
        value = number_value(num)
        if value is None:
            continue
        if m["jiao"]:
            value += Decimal(digit_value(m["jiao"]) or 0) / 10
        if m["fen"]:
            value += Decimal(digit_value(m["fen"]) or 0) / 100
        found.append((m.start(), value))
        rest[m.start() : m.end()] = MASK * (m.end() - m.start())
    rest_text = "".join(rest)
    for m in _JIAO_ONLY.finditer(rest_text):
        value = Decimal(digit_value(m["jiao"]) or 0) / 10
        if m["fen"]:
            value += Decimal(digit_value(m["fen"]) or 0) / 100
        found.append((m.start(), value))
    return found, rest_text


def _whole_message(masked: str) -> Decimal | None:
    """Value a message that is nothing but a number (plus fillers like 大概/左右)."""
    core = re.sub(r"(?!(?<=\d)\.(?=\d))[^\w]", "", masked)
    core = _FILLER_TAIL.sub("", _FILLER_HEAD.sub("", core))
    if not core or not re.fullmatch(_NUM, core):
        return None
    return _bare_value(core, 5)


# Words that put a plain number in the context of one sale: 昨天 199 那笔我撤销了.
_ABOUT_A_SALE = re.compile(
    r"那笔|这笔|一笔|那单|昨天|前天|今天|昨晚|今早|刚才|刚刚|撤销|退货|退款|到账|扣|刷|没出小票|超时"
)


def _lone_number(rest: str) -> list[tuple[int, Decimal]]:
    """The one plain number beside other details: 参考号… 昨天下午三点 268 (268 is the amount).

    Only when exactly one number is left once references, times and counts are masked, and it
    looks like money: two or more digits, or a Chinese numeral with a unit (两百六, not 一).
    """
    numbers = []
    for m in _BARE.finditer(rest):
        token = m["num"]
        plain = re.fullmatch(r"[1-9]\d{1,6}(?:\.\d{1,2})?", token)
        spoken = token[0] in CN_NUM and any(unit in token for unit in "十百千万")
        if plain or spoken:
            numbers.append((m.start("num"), token))
    if len(numbers) != 1:
        return []
    value = _bare_value(numbers[0][1], 7)
    return [] if value is None else [(numbers[0][0], value)]


def parse_amount(text: str, *, bare: bool = False) -> Decimal | None:
    """Return the amount the merchant means, quantized to 0.01, or None.

    With ``bare`` (the caller knows the message is about the amount) a unit-less number with no
    money context counts too: 不是88 其实是256.
    """
    masked = mask_non_amounts(_clean(text))
    found, rest = _unit_candidates(masked)
    if not found:
        for m in _CONTEXT.finditer(rest):
            if len(m["num"]) == 1 and m["num"] in CN_NUM:
                continue  # 刷了一下 一直没反应: a lone 一 is a word, not money
            value = _bare_value(m["num"], 7)
            if value is not None:
                found.append((m.start("num"), value))
    if not found:
        for m in _DECIMAL.finditer(rest):
            found.append((m.start(), Decimal(m["num"])))
    if not found and bare:
        for m in _BARE.finditer(rest):
            value = _bare_value(m["num"], 7)
            if value is not None:
                found.append((m.start("num"), value))
    if not found and (MASK in rest or _ABOUT_A_SALE.search(rest)):
        found.extend(_lone_number(rest))
    if not found:
        whole = _whole_message(masked)
        if whole is not None:
            found.append((0, whole))
    # The last amount wins: merchants correct themselves ("三百，不对，是三百八").
    for _, value in sorted(found, key=lambda item: item[0], reverse=True):
        if value > 0:
            return value.quantize(_CENT, rounding=ROUND_HALF_UP)
    return None
