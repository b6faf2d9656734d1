"""Find a transaction identifier or a card's last four digits in a merchant's text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from ._cards import find_cards
from ._masks import MASK
from ._text import fold_width


class RefKind(StrEnum):
    """The kind of transaction identifier a merchant quoted."""

    REF_NO = "ref_no"
    TRACE_NO = "trace_no"
    ORDER_NO = "order_no"
    AUTH_CODE = "auth_code"


@dataclass(frozen=True)
class Reference:
    """An identifier value (uppercase ASCII) and its kind."""

    value: str
    kind: RefKind


_LABELS: dict[str, RefKind] = {
    "检索参考号": RefKind.REF_NO, "系统参考号": RefKind.REF_NO, "参考编号": RefKind.REF_NO,
    "参考号": RefKind.REF_NO, "参考": RefKind.REF_NO, "rrn": RefKind.REF_NO,
    "凭证号": RefKind.TRACE_NO, "凭证": RefKind.TRACE_NO, "流水号": RefKind.TRACE_NO,
    "流水": RefKind.TRACE_NO, "追踪号": RefKind.TRACE_NO, "trace": RefKind.TRACE_NO,
    "授权码": RefKind.AUTH_CODE, "授权号": RefKind.AUTH_CODE, "auth": RefKind.AUTH_CODE,
    "商户订单号": RefKind.ORDER_NO, "交易订单号": RefKind.ORDER_NO, "订单编号": RefKind.ORDER_NO,
    "订单号": RefKind.ORDER_NO, "交易单号": RefKind.ORDER_NO, "商户单号": RefKind.ORDER_NO,
    "交易号": RefKind.ORDER_NO, "单号": RefKind.ORDER_NO, "订单": RefKind.ORDER_NO,
}  # fmt: skip
# Labels loosely used for any identifier (DOMAIN.md): fall back to the value's shape.
_LOOSE = {"订单", "单号", "订单号", "交易号"}
_LABEL = re.compile(
    "(" + "|".join(sorted(_LABELS, key=len, reverse=True)) + r")(?:是|为|:|#|\s|号码|no\.?)*"
)
_GROUP = re.compile(r"[a-z0-9]+")
_SHAPES: dict[RefKind, re.Pattern[str]] = {
    RefKind.REF_NO: re.compile(r"[A-Z0-9]{12}"),
    RefKind.TRACE_NO: re.compile(r"\d{6}"),
    RefKind.AUTH_CODE: re.compile(r"[A-Z0-9]{6}"),
    RefKind.ORDER_NO: re.compile(r"[A-Z0-9]{8,32}"),
}
# Spans that are never a reference: other identifiers, money, dates, times, counts.
_NOT_REFERENCE = re.compile(
    "|".join(
        (
            r"(?:商户编号|商户号|终端编号|终端号|终端|批次号|批次|手机号|手机|电话|卡尾号|卡号|尾号|尾数"
            r"|后四位|末四位|后4位|末4位)(?:是|为|:|#|\s|后四位|末四位)*[a-z0-9]+",
            r"\d{0,6}\s*(?:[*x•]{2,}\s*)+\d{0,4}",
            r"(?:¥|rmb|cny)\s*[\d,.]+",
            r"[\d,.]+\s*(?:元|块|毛|角|rmb|人民币|%|万|千)",
            r"\d+(?:[.,]\d+)+",
            r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}",
            r"\d{1,2}:\d{2}(?::\d{2})?",
            r"\d+[月日号点时分秒次笔个张台天周年]",
        )
    )
)


# A support ticket's number (DD-20261203-0007), or whatever follows 工单号, names a ticket, never
# a transaction: masked before anything else is read (单号 inside 工单号 is no label either).
_TICKET_NO = re.compile(r"(?<![a-z0-9])dd-\d{8}-\d{4,}(?!\d)")
_TICKET_LABELLED = re.compile(
    r"(?:工单|投诉单|服务单)(?:编号|号码|号)?(?:是|为|:|#|\s)*[a-z0-9]*(?:-[a-z0-9]+)*"
)
# Other desks' ticket numbers, T + a date + a serial (T20261202008): never a transaction.
_T_TICKET = re.compile(r"(?<![a-z0-9])t20\d{6}\d{2,6}(?![a-z0-9])")


def ticket_numbers(text: str) -> list[str]:
    """Every support ticket number in the text, uppercase: DD-20261203-0007."""
    return [m.group().upper() for m in _TICKET_NO.finditer(_normalise(text))]


def parse_ticket_no(text: str) -> str | None:
    """Return the first support ticket number in the text, or None."""
    found = ticket_numbers(text)
    return found[0] if found else None


def _mask_tickets(norm: str) -> str:
    for pattern in (_TICKET_NO, _TICKET_LABELLED, _T_TICKET):
        norm = pattern.sub(lambda m: MASK * len(m.group()), norm)
    return norm


def _mask_cards(norm: str) -> str:
    """Blank out card numbers: labelled 卡号 or carrying a BIN, they are never a reference."""
    for card in find_cards(norm):
        norm = norm[: card.start] + MASK * (card.end - card.start) + norm[card.end :]
    return norm


def only_in_tickets(value: str, text: str) -> bool:
    """Tell whether the value occurs in the text, but only inside ticket numbers (or 工单号…)."""
    needle, norm = _normalise(value).strip(), _normalise(text)
    return bool(needle) and needle in norm and needle not in _mask_tickets(norm)


def _fit(groups: list[str], kind: RefKind) -> str | None:
    """Join leading groups (1234 5678 9012) into the longest value that fits the kind."""
    joined = ""
    best: str | None = None
    for group in groups:
        joined += group.upper()
        if _SHAPES[kind].fullmatch(joined):
            best = joined
    return best


def _shape_kind(value: str, labelled: bool) -> RefKind | None:
    """Classify an identifier by its shape alone."""
    digits = sum(ch.isdigit() for ch in value)
    if digits * 2 < len(value):
        return None
    if len(value) == 12:
        return RefKind.REF_NO
    if len(value) == 6 and value.isdigit():
        return RefKind.TRACE_NO
    if not 8 <= len(value) <= 32:
        return None
    if not labelled and (_is_date(value) or re.fullmatch(r"1[3-9]\d{9}", value)):
        return None
    return RefKind.ORDER_NO


def _is_date(value: str) -> bool:
    """Tell whether an 8-digit value reads as a YYYYMMDD date."""
    if not re.fullmatch(r"(?:19|20)\d{6}", value):
        return False
    try:
        dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def _labelled_groups(text: str, pos: int) -> tuple[list[str], int]:
    """Read a labelled value and where it ends: one run, or short even groups (1234 5678)."""
    groups: list[str] = []
    end = pos
    while m := _GROUP.match(text, pos):
        if re.match(r"\s*(?:元|块|:|点|号|月|日)", text[m.end() :]):
            break
        group = m.group()
        if groups and (len(groups[0]) > 6 or len(group) > len(groups[0])):
            break
        if groups and (len(groups[-1]) != len(groups[0]) or not group.isdigit()):
            break
        groups.append(group)
        end = m.end()
        if end >= len(text) or text[end] not in " -":
            break
        pos = end + 1
    return groups, end


def _normalise(text: str) -> str:
    """Fold widths and lowercase, keeping character positions."""
    return fold_width(text).lower()


def find_references(text: str) -> list[Reference]:
    """Every transaction identifier quoted in the text, in the order written, each once."""
    norm = _mask_cards(_mask_tickets(_normalise(text)))
    found: list[tuple[int, Reference]] = []
    spans: list[tuple[int, int]] = []
    for m in _LABEL.finditer(norm):
        kind = _LABELS[m[1]]
        groups, end = _labelled_groups(norm, m.end())
        spans.append((m.start(), end))
        value = _fit(groups, kind)
        if value is not None:
            found.append((m.start(), Reference(value, kind)))
            # 两个凭证号 000231 000205: whole values side by side under one label.
            rest = [g.upper() for g in groups[1:]]
            whole = all(_SHAPES[kind].fullmatch(g) for g in rest)
            if value == groups[0].upper() and rest and whole:
                found.extend((m.start() + 1 + i, Reference(g, kind)) for i, g in enumerate(rest))
            continue
        if m[1] in _LOOSE:
            joined = "".join(groups).upper()
            loose_kind = _shape_kind(joined, labelled=True)
            if loose_kind is not None:
                found.append((m.start(), Reference(joined, loose_kind)))
    masked = _NOT_REFERENCE.sub(lambda m: MASK * len(m.group()), norm)
    for start, end in spans:
        masked = masked[:start] + MASK * (end - start) + masked[end:]
    for m in re.finditer(r"(?<![a-z0-9_])[a-z0-9]+(?![a-z0-9_])", masked):
        token = m.group().upper()
        token_kind = _shape_kind(token, labelled=False)
        if token_kind is not None:
            found.append((m.start(), Reference(token, token_kind)))
    unique: dict[str, Reference] = {}
    for _, ref in sorted(found, key=lambda item: item[0]):
        unique.setdefault(ref.value, ref)
    return list(unique.values())


def parse_reference(text: str) -> Reference | None:
    """Return the transaction identifier quoted in the text, or None."""
    refs = find_references(text)
    return refs[0] if refs else None


_LAST4 = re.compile(
    r"(?:尾号|卡尾号|尾数|后四位|末四位|后4位|末4位|最后四位|最后4位)"
    r"(?:是|为|:|#|\s|号|数字|应该|其实|改成|改为|就)*(\d{4})(?!\d)"
)
_MASKED_CARD = re.compile(r"(?:[*x•]{2,}\s*)+(\d{4})(?!\d)")


def parse_card_last4(text: str) -> str | None:
    """Return the last four card digits the merchant gave (尾号1234, or a whole card number)."""
    norm = _normalise(text)
    m = _LAST4.search(norm) or _MASKED_CARD.search(norm)
    if m:
        return m[1]
    card = next(find_cards(norm), None)
    return card.last4 if card else None


# "No reference" said inside a longer message: 没有单号, 小票没打出来, 参考号不知道.
_SLIP = r"(?:检索参考号|参考号|凭证号|流水号|订单号|(?<!工)单号|单子|小票|签购单|凭条)"
_NONE_BEFORE = r"(?:没有|没|无|不知道|不清楚|找不到|查不到|忘了|忘记了|丢了|记不得|记不清)"
_NONE_AFTER = (
    r"(?:也|都|又|根本|实在)?(?:没有(?!到|收|成|扣|退|结|显示|反应)|不知道|不清楚|找不到|丢了|忘了"
    r"|记不得|记不清|没打出来|没打|没出来|打不出来|没拿到)"
)
_NO_REFERENCE = re.compile(
    rf"{_NONE_BEFORE}(?:了)?(?:的)?(?:什么|任何)?{_SLIP}|{_SLIP}(?:号码)?(?:我)?{_NONE_AFTER}"
)


def says_no_reference(text: str) -> bool:
    """Tell whether the merchant says they have no reference to quote (没有单号, 小票没打出来)."""
    # The cheap pattern first: callers have usually just found no reference already.
    return _NO_REFERENCE.search(_normalise(text)) is not None and parse_reference(text) is None
