"""Read and validate transaction exports (CSV in UTF-8/BOM/GBK, or JSON Lines)."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from dropdesk.card import CardNumberError, split_card
from dropdesk.database.core import epoch_us
from dropdesk.timezone import parse_business_time
from dropdesk.transaction.models import ReversalStatus, SettlementStatus, TerminalStatus, TxnType

COLUMNS = (
    "merchant_no", "terminal_no", "txn_type", "order_no", "trace_no", "ref_no", "batch_no",
    "auth_code", "card_no", "amount", "txn_time", "response_code", "terminal_status",
    "reversal_status", "settlement_status", "settlement_date", "original_ref_no",
)  # fmt: skip
MAX_AMOUNT_FEN = 10_000_000 * 100
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
_REQUIRED = {"merchant_no", "terminal_no", "txn_type", "amount", "txn_time", "terminal_status"}
_REQUIRED_AT = [i for i, c in enumerate(COLUMNS) if c in _REQUIRED]
_UPPER = [i for i, c in enumerate(COLUMNS) if c in _PATTERNS]
_LOWER = [i for i, c in enumerate(COLUMNS) if c in _CHOICES]
_CHECKS: list[tuple[int, Callable[[str], object], str]] = [
    (COLUMNS.index(c), pattern.match, reason) for c, (pattern, reason) in _PATTERNS.items()
] + [
    (COLUMNS.index(c), choices.__contains__, f"must be one of {'|'.join(sorted(choices))}")
    for c, choices in _CHOICES.items()
]


class ImportFileError(ValueError):
    """The file as a whole cannot be read (encoding, header, format)."""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


class ImportRow(NamedTuple):
    """One validated transaction row; fields after `line` follow the txn table's columns."""

    line: int
    merchant_no: str
    terminal_no: str
    natural_key: str
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
    txn_epoch_us: int


def natural_key(terminal_no: str, txn_type: str, txn_epoch_us: int,
                trace_no: str | None, order_no: str | None) -> str:  # fmt: skip
    """Identity of a row across re-imports: fields the terminal fixes at the time of sale."""
    return f"{terminal_no}|{txn_type}|{txn_epoch_us // 1_000_000}|{trace_no or ''}|{order_no or ''}"


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


# A record is its line number and either its fields in COLUMNS order, or what is wrong with it.
Record = tuple[int, list[str] | str]


def read_records(path: Path, encoding: str | None = None) -> Iterator[Record]:
    """Yield a record for each row of a CSV or JSON Lines file."""
    text = decode(path.read_bytes(), encoding)
    if not text.strip():
        raise ImportFileError("the file is empty")
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        yield from _read_jsonl(text)
    else:
        yield from _read_csv(text)


def _read_csv(text: str) -> Iterator[Record]:
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
    order = [header.index(c) for c in COLUMNS]
    in_order = order == list(range(len(COLUMNS)))
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield line, f"malformed CSV: {exc}"
            return
        if not fields or fields == [""]:
            continue
        if len(fields) != len(header):
            yield line, f"expected {len(header)} fields, found {len(fields)}"
            continue
        yield line, fields if in_order else [fields[i] for i in order]


def _read_jsonl(text: str) -> Iterator[Record]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, f"malformed JSON: {exc.msg}"
            continue
        if not isinstance(obj, dict):
            yield line, "each line must be a JSON object"
            continue
        unknown = [k for k in obj if k not in COLUMNS]
        if unknown:
            yield line, f"unknown keys: {', '.join(map(str, unknown))}"
            continue
        yield line, ["" if obj.get(c) is None else str(obj[c]) for c in COLUMNS]


def validate(line: int, raw: dict[str, str]) -> tuple[ImportRow | None, list[RowError]]:
    """Turn named raw fields into an ImportRow, or name every problem with them."""
    return validate_record(line, [raw.get(column) or "" for column in COLUMNS])


def validate_record(line: int, fields: list[str] | str) -> tuple[ImportRow | None, list[RowError]]:
    """Turn a record's fields (COLUMNS order) into an ImportRow, or name every problem."""
    if isinstance(fields, str):
        return None, [RowError(line, "-", fields)]
    errors: list[RowError] = []
    # Trim, fold case, then check presence, shape and allowed values (hot path: keep it flat).
    v = [field.strip() for field in fields]
    for i in _UPPER:
        v[i] = v[i].upper()
    for i in _LOWER:
        v[i] = v[i].lower()
    for i in _REQUIRED_AT:
        if not v[i]:
            errors.append(RowError(line, COLUMNS[i], "is required"))
    for i, check, reason in _CHECKS:
        if v[i] and not check(v[i]):
            errors.append(RowError(line, COLUMNS[i], reason))
    (merchant_no, terminal_no, txn_type, order_no, trace_no, ref_no, batch_no, auth_code, card_no,
     amount, time_text, response_code, terminal_status, reversal_status, settlement_status,
     date_text, original_ref_no) = v  # fmt: skip

    def bad(column: str, reason: str) -> None:
        errors.append(RowError(line, column, reason))

    if not (order_no or trace_no or ref_no):
        bad("order_no", "one of order_no, trace_no, ref_no is required")
    card_bin = card_last4 = None
    if card_no:
        try:
            card_bin, card_last4 = split_card(card_no)
        except CardNumberError as exc:
            bad("card_no", str(exc))
    amount_fen = 0
    if amount:
        if not _AMOUNT.match(amount):
            bad("amount", "must be yuan as a decimal with at most 2 places, e.g. 320.50")
        else:
            whole, _, cents = amount.partition(".")
            amount_fen = int(whole) * 100 + int(cents.ljust(2, "0") or 0)
            if not 0 < amount_fen < MAX_AMOUNT_FEN:
                bad("amount", "must be above 0 and below 10,000,000")
    txn_time = None
    if time_text:
        try:
            txn_time = parse_business_time(time_text)
        except ValueError:
            bad("txn_time", "must be an ISO 8601 time, e.g. 2026-11-20T14:05:00")
    settlement_date = None
    if date_text:
        try:
            settlement_date = dt.date.fromisoformat(date_text)
        except ValueError:
            bad("settlement_date", "must be a date, e.g. 2026-11-21")
    elif settlement_status == "settled":
        bad("settlement_date", "is required when settlement_status is settled")
    if txn_type == "sale":
        if original_ref_no:
            bad("original_ref_no", "must be empty for a sale")
    elif not original_ref_no:
        bad("original_ref_no", "is required for a void or refund")
    if errors or txn_time is None:
        return None, errors
    epoch = epoch_us(txn_time)
    return ImportRow(
        line, merchant_no, terminal_no,
        natural_key(terminal_no, txn_type, epoch, trace_no, order_no),
        txn_type, order_no or None, trace_no or None, ref_no or None, batch_no or None,
        auth_code or None, card_bin, card_last4, amount_fen, txn_time, response_code or None,
        terminal_status, reversal_status or "none", settlement_status or "unsettled",
        settlement_date, original_ref_no or None, epoch,
    ), []  # fmt: skip


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic GC: bulk rows hold no cycles, and rescanning a growing heap is slow."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
