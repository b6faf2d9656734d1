"""From OCR lines to SlipFields: labelled values first, then what only one field can be.

Works on the text the way it is printed on UnionPay slips (label, then the value on the same
row or the next one), on terminal result screens and on bank SMS. It never keeps a full card
number: only the last four digits leave this module.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from dropdesk.card import mask_pans
from dropdesk.messages import RESPONSE_CODES
from dropdesk.slip.models import OcrLine, PhotoKind, SlipFields
from dropdesk.slip.rows import row_texts
from dropdesk.timezone import UTC8

# Labels as printed (Chinese, and the English most slips add), after normalise().
_LABELS: dict[str, str] = {
    "merchant_no": r"商户编号|商户号|MERCHANTNO|MERCHANTID",
    "terminal_no": r"终端编号|终端号|TERMINALNO|TERMINALID",
    "reference_no": r"检索参考号|参考号|REFERNO|REFERENCENO|REFNO|RRN",
    "trace_no": r"凭证号|流水号|VOUCHERNO|TRACENO",
    "batch_no": r"批次号|BATCHNO",
}
_VALUES: dict[str, str] = {
    "merchant_no": r"(?<!\d)\d{15}(?!\d)",
    "terminal_no": r"(?<![0-9A-Z])(?=(?:[A-Z]*\d){4})[0-9A-Z]{8}(?![0-9A-Z])",
    "reference_no": r"(?<!\d)\d{12}(?!\d)",
    "trace_no": r"(?<!\d)\d{6}(?!\d)",
    "batch_no": r"(?<!\d)\d{6}(?!\d)",
}
_AMOUNT_LABEL = re.compile(r"交易金额|金额|AMOUNT|AMT")
_MONEY = r"(\d{1,3}(?:[,.]\d{3})+|\d+)(?:\.(\d{2}))"
_CURRENCY = r"(?:RMB|CNY|¥|人民币)"
_LABELLED_MONEY = re.compile(rf"{_CURRENCY}?{_MONEY}")
_SPENT_MONEY = re.compile(rf"(?:消费|支出|支付|扣款|扣费)(?:支出)?{_CURRENCY}?{_MONEY}")
_ANY_MONEY = re.compile(rf"{_CURRENCY}{_MONEY}")
_FULL_TIME = re.compile(
    r"(20\d{2})[-/.年](\d{1,2})[-/.月](\d{1,2})日?\s*(\d{1,2})[:时](\d{2})(?:[:分](\d{2}))?"
)
_MONTH_DAY_TIME = re.compile(r"(\d{1,2})月(\d{1,2})日(\d{1,2})[:时](\d{2})")
_MASKED_PAN = re.compile(r"(?<!\d)\d{4,6}[*X×#•·]{3,}(\d{4})")  # an entry-mode letter may follow
_CARD_LABEL = re.compile(r"卡号|CARDNO")
_FULL_PAN = re.compile(r"(?<!\d)\d{13,19}(?!\d)")
_SMS_CARD = re.compile(r"(?:尾号(?:为|是)?|账户|账号|后四位(?:为|是)?)(\d{4})(?!\d)")
_CODE = re.compile(
    r"(?:响应码|应答码|错误码|返回码|RESPCODE|ERRORCODE)[:]?\[?([0-9A-Z]{2})(?![0-9A-Z])"
)
_OUTCOMES = ("交易失败", "交易成功", "交易超时", "交易取消", "交易拒绝")
_REASONS = tuple(
    dict.fromkeys(
        ["余额不足", "密码错误", "不予承兑", "卡片已过期", "超出金额限制", "发卡行无法连接"]
        + [text.meaning for text in RESPONSE_CODES.values() if len(text.meaning) <= 6]
    )
)
_CONFUSABLE = str.maketrans({"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "|": "1"})


def extract(lines: list[OcrLine], *, now: dt.datetime) -> tuple[SlipFields, PhotoKind]:
    """Read the fields off OCR lines; now (aware) dates an SMS, which prints no year."""
    texts = row_texts(lines)
    if not texts:
        return SlipFields(), PhotoKind.UNKNOWN
    joined = "\n".join(texts)
    flat = "".join(texts)
    found: dict[str, object] = {name: _labelled(texts, name) for name in _LABELS}
    found["amount"] = _amount(texts, flat)
    found["txn_time"] = _time(joined, flat, now)
    found["card_last4"] = _card_last4(texts, flat)
    code = _CODE.search(joined)
    found["response_code"] = code.group(1) if code else None
    found["response_text"] = next((t for t in _OUTCOMES + _REASONS if t in flat), None)
    _unlabelled(found, joined)
    fields = SlipFields.model_validate(found)
    return fields, _kind(flat, fields)


def masked_lines(lines: list[OcrLine]) -> list[str]:
    """The OCR text in reading order with every card-number-like digit run masked."""
    return [_FULL_PAN_16.sub(_mask_run, mask_pans(text)) for text in row_texts(lines)]


_FULL_PAN_16 = re.compile(r"(?<!\d)\d{16,19}(?!\d)")


def _mask_run(match: re.Match[str]) -> str:
    digits = match.group(0)
    return f"{digits[:6]}******{digits[-4:]}"


def _after_label(text: str, label: re.Pattern[str]) -> str | None:
    matches = list(label.finditer(text))
    if not matches:
        return None
    # The value follows the last label word (Chinese, then the English in brackets).
    rest = text[matches[-1].end() :]
    return re.sub(r"^[^0-9A-Z]*", "", rest).translate(_CONFUSABLE)


def _is_value_row(text: str) -> bool:
    return not re.search(r"[\u4e00-\u9fff(:]", text)


def _labelled(texts: list[str], name: str) -> str | None:
    label, value = re.compile(_LABELS[name]), re.compile(_VALUES[name])
    for i, text in enumerate(texts):
        rest = _after_label(text, label)
        if rest is None:
            continue
        match = value.search(rest)
        if match is None and i + 1 < len(texts) and _is_value_row(texts[i + 1]):
            match = value.search(texts[i + 1].translate(_CONFUSABLE))
        if match:
            return match.group(0)
    return None


def _unlabelled(found: dict[str, object], joined: str) -> None:
    # A label the OCR garbled still leaves a value whose length only one field has.
    for name, pattern in (("merchant_no", r"(?<!\d)\d{15}(?!\d)"),
                          ("reference_no", r"(?<!\d)\d{12}(?!\d)")):  # fmt: skip
        if found[name] is None:
            runs = set(re.findall(pattern, joined)) - {v for v in found.values() if v}
            if len(runs) == 1:
                found[name] = runs.pop()


def _money(match: re.Match[str] | None) -> Decimal | None:
    if match is None:
        return None
    whole = re.sub(r"[,.]", "", match.group(1))
    try:
        return Decimal(f"{whole}.{match.group(2) or '00'}")
    except InvalidOperation:
        return None


def _amount(texts: list[str], flat: str) -> Decimal | None:
    for i, text in enumerate(texts):
        labels = list(_AMOUNT_LABEL.finditer(text))
        if not labels:
            continue
        following = texts[i + 1] if i + 1 < len(texts) else ""
        for candidate in (text[labels[-1].end() :], following):
            amount = _money(_LABELLED_MONEY.search(candidate))
            if amount is not None:
                return amount
    return _money(_SPENT_MONEY.search(flat)) or _money(_ANY_MONEY.search(flat))


def _time(joined: str, flat: str, now: dt.datetime) -> dt.datetime | None:
    for match in _FULL_TIME.finditer(joined):
        year, month, day, hour, minute, second = (int(g or 0) for g in match.groups())
        try:
            return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC8)
        except ValueError:
            continue
    for match in _MONTH_DAY_TIME.finditer(flat):
        month, day, hour, minute = (int(g) for g in match.groups())
        local_now = now.astimezone(UTC8)
        for year in (local_now.year, local_now.year - 1):
            try:
                when = dt.datetime(year, month, day, hour, minute, tzinfo=UTC8)
            except ValueError:
                continue
            if when <= local_now + dt.timedelta(days=1):
                return when
    return None


def _card_last4(texts: list[str], flat: str) -> str | None:
    for text in texts:
        masked = _MASKED_PAN.search(text)
        if masked:
            return masked.group(1)
    for i, text in enumerate(texts):
        if _CARD_LABEL.search(text):
            for candidate in (text, texts[i + 1] if i + 1 < len(texts) else ""):
                full = _FULL_PAN.search(candidate)
                if full:
                    return full.group(0)[-4:]
    sms = _SMS_CARD.search(flat)
    return sms.group(1) if sms else None


def _kind(flat: str, fields: SlipFields) -> PhotoKind:
    if re.search(r"签购单|存根|COPY", flat):
        return PhotoKind.SLIP
    if re.search(r"【[^】]{2,10}】|尾号", flat):
        return PhotoKind.SMS
    if fields.response_code or re.search(r"交易失败|交易成功|请按", flat):
        return PhotoKind.SCREEN
    ids = (fields.merchant_no, fields.terminal_no, fields.batch_no)
    return PhotoKind.SLIP if sum(v is not None for v in ids) >= 2 else PhotoKind.UNKNOWN
