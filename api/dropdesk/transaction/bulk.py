"""Whole-file import: validate and write in chunks inside one transaction, all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from sqlalchemy.orm import Session

from dropdesk.transaction.importer import (
    ImportFileError,
    ImportRow,
    Record,
    RowError,
    paused_gc,
    read_records,
    validate_record,
)
from dropdesk.transaction.service import ImportResult, StoreWriter

CHUNK_ROWS = 5000


@dataclass
class ImportOutcome:
    result: ImportResult | None
    errors: list[RowError] = field(default_factory=list)
    duplicates: int = 0


def validate_chunk(records: list[Record]) -> tuple[list[ImportRow], list[RowError]]:
    """Validate a chunk of records; runs in a worker process for big files."""
    rows, errors = [], []
    with paused_gc():
        for line, raw in records:
            row, row_errors = validate_record(line, raw)
            errors.extend(row_errors)
            if row is not None:
                rows.append(row)
    return rows, errors


def _chunks(records: Iterator[Record]) -> Iterator[list[Record]]:
    while chunk := list(islice(records, CHUNK_ROWS)):
        yield chunk


def import_file(*, db_session: Session, path: Path, encoding: str | None = None) -> ImportOutcome:
    """Import a file inside the session's transaction; roll back if any row is bad."""
    outcome = ImportOutcome(result=None)
    writer = StoreWriter(db_session)
    seen: dict[str, ImportRow] = {}
    # Validate and write chunk by chunk: nothing waits for the whole file to be checked.
    with paused_gc():
        for chunk in _chunks(read_records(path, encoding)):
            _take(outcome, writer, seen, *validate_chunk(chunk))
    if not seen and not outcome.errors:
        raise ImportFileError("the file has a header but no rows")
    if outcome.errors:
        db_session.rollback()
        return outcome
    outcome.result = writer.finish()
    return outcome


def _take(outcome: ImportOutcome, writer: StoreWriter, seen: dict[str, ImportRow],
          rows: list[ImportRow], errors: list[RowError]) -> None:  # fmt: skip
    outcome.errors.extend(errors)
    fresh = []
    for row in rows:
        key = f"{row.merchant_no}|{row.natural_key}"
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = row
            fresh.append(row)
        elif earlier[1:] == row[1:]:
            outcome.duplicates += 1
        else:
            outcome.errors.append(
                RowError(
                    row.line, "-", f"same transaction as line {earlier.line} with other values"
                )
            )
    if not outcome.errors:
        writer.write(fresh)
