"""Read and validate transaction exports (CSV in UTF-8/BOM/GBK, or JSON Lines)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from dropdesk.card import CardNumberError, split_card
from dropdesk.timezone import parse_business_time
from dropdesk.transaction.models import ReversalStatus, SettlementStatus, TerminalStatus, TxnType

COLUMNS = (
    "merchant_no", "terminal_no", "txn_type", "order_no", "trace_no", "ref_no", "batch_no",
    "auth_code", "card_no", "amount", "txn_time", "response_code", "terminal_status",
    "reversal_status", "settlement_status", "settlement_date", "original_ref_no",
)  # fmt: skip
MAX_AMOUNT = Decimal("10000000")
_PATTERNS = {
    "merchant_no": (re.compile(r"^\d{15}$"), "must be 15 digits"),
    "terminal_no": (re.compile(r"^[0-9A-Z]{8}$"), "must be 8 letters or digits"),
    "order_no": (re.compile(r"^[0-9A-Z]{8,32}$"), "must be 8-32 letters or digits"),
    "trace_no": (re.compile(r"^\d{6}$"), "must be 6 digits"),
    "ref_no": (re.compile(r"^[0-9A-Z]{12}$"), "must be 12 letters or digits"),
    "batch_no": (re.compile(r"^\d{6}$"), "must be 6 digits"),
    "auth_code": (re.compile(r"^[0-9A-Z]{6}$"), "must be 6 letters or digits"),
    "response_code": (re.compile(r"^[0-9A-Z]{2}$"), "must be 2 letters or digits"),
    "original_ref_no": (re.compile(r"^[0-9A-Z]{12}$"), "must be 12 letters or digits"),
}
_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")
_CHOICES = {
    "txn_type": {t.value for t in TxnType},
    "terminal_status": {t.value for t in TerminalStatus},
    "reversal_status": {t.value for t in ReversalStatus},
    "settlement_status": {t.value for t in SettlementStatus},
}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (encoding, header, format)."""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One validated transaction row, ready for the store."""

    line: int
    merchant_no: str
    terminal_no: str
    txn_type: str
    order_no: str | None
    trace_no: str | None
    ref_no: str | None
    batch_no: str | None
    auth_code: str | None
    card_bin: str | None
    card_last4: str | None
    amount_fen: int
    txn_time: dt.datetime
    response_code: str | None
    terminal_status: str
    reversal_status: str
    settlement_status: str
    settlement_date: dt.date | None
    original_ref_no: str | None

    @property
    def natural_key(self) -> str:
        utc = self.txn_time.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S")
        return "|".join(
            (self.terminal_no, self.txn_type, utc, self.trace_no or "", self.order_no or "")
        )


def decode(data: bytes, encoding: str | None = None) -> str:
    """Decode an export: forced encoding, else UTF-8 (with or without BOM), else GBK."""
    if encoding:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise ImportFileError(f"cannot decode as {encoding}: {exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK, which is how bank exports usually come.
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            "not UTF-8 or GBK text; pass --encoding if it is something else"
        ) from exc


def read_records(path: Path, encoding: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, raw fields) for each record of a CSV or JSON Lines file."""
    text = decode(path.read_bytes(), encoding)
    if not text.strip():
        raise ImportFileError("the file is empty")
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        yield from _read_jsonl(text)
    else:
        yield from _read_csv(text)


def _read_csv(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ImportFileError(f"line 1: malformed CSV header: {exc}") from exc
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise ImportFileError(
            f"line 1: header must name exactly these columns: {', '.join(COLUMNS)}"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield line, {"__error__": f"malformed CSV: {exc}"}
            return
        if not fields or fields == [""]:
            continue
        if len(fields) != len(header):
            yield line, {"__error__": f"expected {len(header)} fields, found {len(fields)}"}
            continue
        yield line, dict(zip(header, fields, strict=True))


def _read_jsonl(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, {"__error__": f"malformed JSON: {exc.msg}"}
            continue
        if not isinstance(obj, dict):
            yield line, {"__error__": "each line must be a JSON object"}
            continue
        unknown = [k for k in obj if k not in COLUMNS]
        if unknown:
            yield line, {"__error__": f"unknown keys: {', '.join(map(str, unknown))}"}
            continue
        yield line, {k: "" if v is None else str(v) for k, v in obj.items()}


def validate(line: int, raw: dict[str, str]) -> tuple[ImportRow | None, list[RowError]]:
    """Turn raw fields into an ImportRow, or name every problem with them."""
    if "__error__" in raw:
        return None, [RowError(line, "-", raw["__error__"])]
    errors: list[RowError] = []
    values: dict[str, str | None] = {}

    def bad(column: str, reason: str) -> None:
        errors.append(RowError(line, column, reason))

    for column in COLUMNS:
        value = (raw.get(column) or "").strip()
        if column not in {"card_no", "amount", "txn_time", "settlement_date"}:
            value = value.upper() if column in _PATTERNS else value.lower()
        values[column] = value or None
    for column in ("merchant_no", "terminal_no", "txn_type", "amount", "txn_time",
                   "terminal_status"):  # fmt: skip
        if values[column] is None:
            bad(column, "is required")
    for column, (pattern, reason) in _PATTERNS.items():
        value = values[column]
        if value is not None and not pattern.match(value):
            bad(column, reason)
    for column, choices in _CHOICES.items():
        value = values[column]
        if value is not None and value not in choices:
            bad(column, f"must be one of {'|'.join(sorted(choices))}")
    if not (values["order_no"] or values["trace_no"] or values["ref_no"]):
        bad("order_no", "one of order_no, trace_no, ref_no is required")

    card_bin = card_last4 = None
    if values["card_no"]:
        try:
            card_bin, card_last4 = split_card(values["card_no"])
        except CardNumberError as exc:
            bad("card_no", str(exc))
    amount_fen = 0
    amount = values["amount"]
    if amount is not None:
        if not _AMOUNT.match(amount):
            bad("amount", "must be yuan as a decimal with at most 2 places, e.g. 320.50")
        else:
            value = Decimal(amount)
            if not Decimal(0) < value < MAX_AMOUNT:
                bad("amount", "must be above 0 and below 10,000,000")
            amount_fen = int(value * 100)
    txn_time = None
    if values["txn_time"]:
        try:
            txn_time = parse_business_time(values["txn_time"])
        except ValueError:
            bad("txn_time", "must be an ISO 8601 time, e.g. 2026-11-20T14:05:00")
    settlement_date = None
    if values["settlement_date"]:
        try:
            settlement_date = dt.date.fromisoformat(values["settlement_date"])
        except ValueError:
            bad("settlement_date", "must be a date, e.g. 2026-11-21")
    elif values["settlement_status"] == SettlementStatus.SETTLED:
        bad("settlement_date", "is required when settlement_status is settled")
    if values["txn_type"] in {TxnType.VOID, TxnType.REFUND} and not values["original_ref_no"]:
        bad("original_ref_no", "is required for a void or refund")
    if values["txn_type"] == TxnType.SALE and values["original_ref_no"]:
        bad("original_ref_no", "must be empty for a sale")
    if errors or txn_time is None:
        return None, errors
    return ImportRow(
        line=line,
        merchant_no=values["merchant_no"] or "",
        terminal_no=values["terminal_no"] or "",
        txn_type=values["txn_type"] or "",
        order_no=values["order_no"],
        trace_no=values["trace_no"],
        ref_no=values["ref_no"],
        batch_no=values["batch_no"],
        auth_code=values["auth_code"],
        card_bin=card_bin,
        card_last4=card_last4,
        amount_fen=amount_fen,
        txn_time=txn_time,
        response_code=values["response_code"],
        terminal_status=values["terminal_status"] or "",
        reversal_status=values["reversal_status"] or ReversalStatus.NONE,
        settlement_status=values["settlement_status"] or SettlementStatus.UNSETTLED,
        settlement_date=settlement_date,
        original_ref_no=values["original_ref_no"],
    ), []


@dataclass
class ParsedFile:
    rows: list[ImportRow]
    errors: list[RowError]
    duplicates: int


def parse_file(path: Path, encoding: str | None = None) -> ParsedFile:
    """Validate a whole file; rows repeated exactly are kept once, conflicting ones are errors."""
    rows: dict[str, ImportRow] = {}
    errors: list[RowError] = []
    duplicates = 0
    for line, raw in read_records(path, encoding):
        row, row_errors = validate(line, raw)
        errors.extend(row_errors)
        if row is None:
            continue
        key = f"{row.merchant_no}|{row.natural_key}"
        seen = rows.get(key)
        if seen is None:
            rows[key] = row
        elif _same(seen, row):
            duplicates += 1
        else:
            errors.append(
                RowError(line, "-", f"same transaction as line {seen.line} with other values")
            )
    if not rows and not errors:
        raise ImportFileError("the file has a header but no rows")
    return ParsedFile(list(rows.values()), errors, duplicates)


def _same(a: ImportRow, b: ImportRow) -> bool:
    return dataclasses.replace(a, line=0) == dataclasses.replace(b, line=0)
