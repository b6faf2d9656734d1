"""Find the money amount a merchant means in free text, and whether the reading is sure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ._masks import MASK, mask_non_amounts
from ._money import read_money
from ._numerals import DIGIT_CHARS, RANGE_PAIRS, UNIT_CHARS, Numeral, read_integer
from ._text import CN_NUM, fold_width

_CENT = Decimal("0.01")
_CN = DIGIT_CHARS + UNIT_CHARS
_NUM = (
    rf"(?:(?<![0-9a-z.])\d+(?:\.\d+)?(?:[十百千万亿][0-9{CN_NUM}]*)?"
    rf"|[{CN_NUM}]+(?:点[{CN_NUM}]+)?)"
)
# A money phrase: a numeral with 元/块/角/毛/分 (三块五, 壹拾元零伍分, 320块5) or a ¥ sign.
# 点 is a decimal point only between Chinese digits (三点五元); 一点460元 is a clock and 460元.
_NUMERAL = rf"(?:[0-9{_CN}]|(?<=[{_CN}])点(?=[{DIGIT_CHARS}])|(?<=\d)[.,'](?=\d))"
_PHRASE = re.compile(
    rf"(?P<pre>¥\s*)?(?<![0-9a-z.])(?P<body>{_NUMERAL}+(?:[元圆块角毛分](?:{_NUMERAL}|[元圆块角毛分])*)?)"
    rf"(?P<qian>钱)?(?:整|正)?(?P<post>\s*¥)?"
)
_CONTEXT = re.compile(
    r"(?:金额|钱|收款|刷了|扣了|扣款|付了|付款|支付了?|消费了?|收了|每笔|每次|一共|总共)"
    rf"(?:是|为|了|:|\s|{MASK}|大概|大约|约|差不多|应该是|一共|总共|共)*"
    rf"(?P<num>{_NUM})(?![0-9a-z.:{CN_NUM}])"
)
_DECIMAL = re.compile(rf"(?<![0-9a-z.:¥_])(?P<num>\d{{1,7}}\.\d{{1,2}})(?![0-9a-z.%_{CN_NUM}])")
_BARE = re.compile(rf"(?<![0-9{CN_NUM}.])(?P<num>{_NUM})(?![0-9a-z.:{CN_NUM}])")
_FILLER_HEAD = re.compile(r"^(?:金额|大概|大约|约|差不多|应该|就是|是|为|一共|总共)+")
_FILLER_TAIL = re.compile(r"(?:左右|上下|吧|啊|呀|的)+$")
# Ranges and vague figures name no amount: 三五百, 几十块, 一百多, 百来块, 300到500元.
_N = rf"[0-9{_CN}]"
_VAGUE = re.compile(
    rf"(?:{'|'.join(RANGE_PAIRS)})[十百千万块元毛角]|几[十百千万块元毛角]|[十百千万]几"
    rf"|{_N}多(?!少)|[十百千万]来[块元]|{_N}\s*(?:-|~|～|到|至)\s*{_N}+\s*[十百千万块元]"
)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_WIDE_THOUSANDS = re.compile(r"(?<=\d)，(?=\d{3}(?:\.\d|[元块]|$))")
_SPACED_AFTER_SIGN = re.compile(r"(?<=¥)\s*\d{1,3}(?: \d{3})+(?=\.\d|[^\d]|$)")
_SPACED_BEFORE_UNIT = re.compile(r"(?<![\d.])\d{1,3}(?: \d{3})+(?=(?:\.\d{1,2})?\s*[元块])")


@dataclass(frozen=True)
class AmountReading:
    """An amount (two decimal places) and whether to take it without asking the merchant."""

    value: Decimal
    sure: bool


def _clean(text: str) -> str:
    """Fold widths, lowercase, turn currency words into ¥, and join thousands groups.

    Commas stay, for _read to check; spaces between groups are joined after a ¥ sign and
    marked (') before a bare 元, where they may separate two numbers.
    """
    text = _WIDE_THOUSANDS.sub(",", fold_width(text)).lower()
    text = re.sub(r"rmb|cny|人民币", " ¥ ", text)
    text = _SPACED_AFTER_SIGN.sub(lambda m: m.group().replace(" ", ""), text)
    return _SPACED_BEFORE_UNIT.sub(lambda m: m.group().replace(" ", "'"), text)


def _grouped_right(token: str) -> bool:
    """Tell whether every separator in the figure groups thousands: 1,280.00 (not 1,2800)."""
    return all(
        re.fullmatch(r"\d{1,3}(?:,\d{3})+", run)
        for run in re.findall(r"\d[\d,']*\d", token)
        if "," in run or "'" in run
    )


def _read(token: str) -> Numeral | None:
    """Read a numeral; separators that do not group thousands (1,2800) make it unsure."""
    reading = read_integer(re.sub("[,']", "", token))
    if reading is None or _grouped_right(token):
        return reading
    return Numeral(reading.value, sure=False)


def _bare_value(token: str, max_digits: int) -> Numeral | None:
    """Value a unit-less number, refusing IDs (too long, leading zero)."""
    if token[0].isdigit():
        whole = re.sub("[,']", "", token).split(".")[0]
        if len(whole) > max_digits or (len(whole) > 1 and whole[0] == "0"):
            return None
    if token in ("零", "〇"):
        return None
    return _read(token)


Found = list[tuple[int, Numeral | None]]  # position, reading (None: a range, no amount)


def _read_phrase(body: str, *, has_unit: bool, qian: bool) -> Numeral | None:
    return read_money(body, qian=qian) if has_unit else _read(body)


def _phrases(masked: str) -> tuple[Found, str]:
    """Collect money phrases and vague figures; return them and the rest of the text."""
    found: Found = []
    rest = list(masked)
    for m in _VAGUE.finditer(masked):
        found.append((m.start(), None))
        rest[m.start() : m.end()] = MASK * (m.end() - m.start())
    vague_free = "".join(rest)
    for m in _PHRASE.finditer(vague_free):
        body = m["body"]
        has_unit = re.search("[元圆块角毛分]", body) is not None
        if not (m["pre"] or m["post"] or has_unit):
            continue
        if re.match(r"\d{10,}", body) or re.search(r"\.\d{3,}", body):
            continue  # an identifier, or a figure finer than a fen
        reading = _read_phrase(body, has_unit=has_unit, qian=bool(m["qian"]))
        if reading is None and "点" in body:
            # 四点两千块: the clock's 点 is no decimal point; the amount follows it.
            reading = _read_phrase(body.rsplit("点", 1)[1], has_unit=has_unit, qian=bool(m["qian"]))
        if reading is None:
            continue
        if reading is not None and not _grouped_right(body):
            reading = Numeral(reading.value, sure=False)
        found.append((m.start(), reading))
        rest[m.start() : m.end()] = MASK * (m.end() - m.start())
    return found, _THOUSANDS.sub("", "".join(rest))


def _whole_message(masked: str) -> Numeral | None:
    """Value a message that is nothing but a number (plus fillers like 大概/左右)."""
    core = re.sub(r"(?!(?<=\d)[.,](?=\d))[^\w]", "", masked)
    core = _FILLER_TAIL.sub("", _FILLER_HEAD.sub("", core))
    if not core or not re.fullmatch(rf"{_NUM}|\d{{1,3}}(?:,\d+)+(?:\.\d+)?", core):
        return None
    return _bare_value(core, 5)


# Words that put a plain number in the context of one sale: 昨天 199 那笔我撤销了.
_ABOUT_A_SALE = re.compile(
    r"那笔|这笔|一笔|那单|昨天|前天|今天|昨晚|今早|刚才|刚刚|撤销|退货|退款|到账|扣|刷|没出小票|超时"
)


def _lone_number(rest: str) -> Found:
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


def _candidates(masked: str, bare: bool) -> Found:
    found, rest = _phrases(masked)
    if not found:
        for m in _CONTEXT.finditer(rest):
            if len(m["num"]) == 1 and m["num"] in CN_NUM:
                continue  # 刷了一下 一直没反应: a lone 一 is a word, not money
            value = _bare_value(m["num"], 7)
            if value is not None:
                found.append((m.start("num"), value))
    if not found:
        found.extend((m.start(), Numeral(Decimal(m["num"]))) for m in _DECIMAL.finditer(rest))
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
    return found


def read_amount(text: str, *, bare: bool = False) -> AmountReading | None:
    """Return the amount the merchant means and whether it is sure, or None.

    With ``bare`` (the caller knows the message is about the amount) a unit-less number with no
    money context counts too: 不是88 其实是256. A range or a vague figure (三五百, 一百多) is None.
    """
    found = _candidates(mask_non_amounts(_clean(text)), bare)
    # The last amount wins: merchants correct themselves ("三百，不对，是三百八").
    for _, reading in sorted(found, key=lambda item: item[0], reverse=True):
        if reading is None:
            return None
        if reading.value > 0:
            return AmountReading(reading.value.quantize(_CENT, ROUND_HALF_UP), reading.sure)
    return None


def parse_amount(text: str, *, bare: bool = False) -> Decimal | None:
    """Return the amount the merchant means, quantized to 0.01, when the reading is sure."""
    reading = read_amount(text, bare=bare)
    return reading.value if reading is not None and reading.sure else None
