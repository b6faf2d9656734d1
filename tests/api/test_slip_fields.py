"""Field extraction from OCR lines (no OCR here: the lines are what the engine returns)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

from dropdesk.slip.fields import extract, masked_lines
from dropdesk.slip.models import OcrLine, PhotoKind
from dropdesk.slip.service import summary
from dropdesk.timezone import UTC8

NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=UTC8)


def ocr(*rows: str | tuple[str, ...], angle: float = 0.0) -> list[OcrLine]:
    """Lines laid out like a photo: one row per item (a tuple = boxes side by side), tilted."""
    turn = math.radians(angle)
    lines = []
    for i, row in enumerate(rows):
        x = 20.0
        for text in (row,) if isinstance(row, str) else row:
            w, h, y = 18.0 * len(text), 24.0, 40.0 * i + 30
            corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
            box = [(px * math.cos(turn) - py * math.sin(turn),
                    px * math.sin(turn) + py * math.cos(turn)) for px, py in corners]  # fmt: skip
            lines.append(OcrLine(box=box, text=text, score=0.99))
            x += w + 30
    # The engine's order is not reading order.
    return lines[::-1]


SLIP = (
    "银联POS签购单",
    "商户存根MERCHANTCOPY",
    "商户编号(MERCHANTNO.):",
    "865310054110001",
    ("终端编号（TERMINALNO.）:", "10230001"),
    "卡号(CARDNO.):",
    "622588******1234S",
    "批次号(BATCHNO.):000123",
    "凭证号(VOUCHERN0.):",
    "000456",
    "授权码(AUTHNO.):654321",
    "参考号（REFERNO.）:612300000001",
    "日期/时间(DATE/TIME):2026/11/2515:02:31",
    "金额(AMOUNT):",
    "RMB 268.00",
    "备注(REFERENCE):",
)


@pytest.mark.parametrize("angle", [0.0, 5.0, -5.0])
def test_a_slip_layout_level_or_tilted(angle: float) -> None:
    fields, kind = extract(ocr(*SLIP, angle=angle), now=NOW)
    assert kind == PhotoKind.SLIP
    assert fields.model_dump(exclude_none=True) == {
        "merchant_no": "865310054110001",
        "terminal_no": "10230001",
        "reference_no": "612300000001",
        "trace_no": "000456",
        "batch_no": "000123",
        "amount": Decimal("268.00"),
        "txn_time": dt.datetime(2026, 11, 25, 15, 2, 31, tzinfo=UTC8),
        "card_last4": "1234",
    }
    assert summary(fields) == "参考号 612300000001，¥268.00，时间 2026-11-25 15:02，卡号尾号 1234"


def test_letters_read_for_digits_in_a_value_are_mended() -> None:
    fields, _ = extract(ocr("参考号:6123OOOOOO01", "凭证号:OOO4l6"), now=NOW)
    assert (fields.reference_no, fields.trace_no) == ("612300000001", "000416")


def test_a_garbled_label_still_leaves_the_only_15_and_12_digit_values() -> None:
    fields, _ = extract(ocr("商尸细号:865310054110001", "参学号:612300000001"), now=NOW)
    assert (fields.merchant_no, fields.reference_no) == ("865310054110001", "612300000001")


def test_a_terminal_screen() -> None:
    rows = ("消费", "交易失败", "应答码：51", "余额不足", "金额：1,050.00", "2026-12-0409:12:00")
    fields, kind = extract(ocr(*rows), now=NOW)
    assert kind == PhotoKind.SCREEN
    assert (fields.response_code, fields.response_text) == ("51", "交易失败")
    assert fields.amount == Decimal("1050.00")
    assert fields.txn_time == dt.datetime(2026, 12, 4, 9, 12, tzinfo=UTC8)


def test_a_wrapped_bank_sms_takes_the_spend_not_the_balance() -> None:
    rows = (
        "【招商银行】您尾号8876的卡于12",
        "月03日15:02消费人民币",
        "268.00元，余额12,345.67元。",
    )
    fields, kind = extract(ocr(*rows), now=NOW)
    assert kind == PhotoKind.SMS
    assert fields.amount == Decimal("268.00")
    assert fields.card_last4 == "8876"
    assert fields.txn_time == dt.datetime(2026, 12, 3, 15, 2, tzinfo=UTC8)


def test_an_sms_from_december_read_in_january_is_last_year() -> None:
    rows = ("【建设银行】您尾号1234的储蓄卡12月31日23时50分消费支出人民币9.90元",)
    fields, _ = extract(ocr(*rows), now=dt.datetime(2027, 1, 2, 9, 0, tzinfo=UTC8))
    assert fields.txn_time == dt.datetime(2026, 12, 31, 23, 50, tzinfo=UTC8)
    assert fields.amount == Decimal("9.90")


def test_a_full_card_number_gives_only_its_last_four() -> None:
    lines = ocr("卡号(CARDNO.):", "6225880123456789012", "参考号:612300000001")
    fields, _ = extract(lines, now=NOW)
    assert fields.card_last4 == "9012"
    assert "6225880123456789012" not in fields.model_dump_json()
    assert "622588******9012" in masked_lines(lines)


def test_nothing_recognisable_reads_as_empty() -> None:
    fields, kind = extract(ocr("谢谢惠顾", "欢迎再次光临"), now=NOW)
    assert fields.is_empty() and kind == PhotoKind.UNKNOWN
    assert extract([], now=NOW)[0].is_empty()
