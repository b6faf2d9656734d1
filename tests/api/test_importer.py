"""Import: validation report, encodings, formats, idempotency, card masking."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dropdesk.cli import app
from dropdesk.transaction.importer import COLUMNS
from dropdesk.transaction.models import SettlementBatch, Transaction
from tests.api.factories import CARD_1, row

runner = CliRunner()


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    from dropdesk.config import get_settings

    monkeypatch.setenv("DROPDESK_DATABASE_URL", database_url)
    get_settings.cache_clear()


def import_file(path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["import", "transactions", str(path), *args])
    return result.exit_code, result.output


def count(db_session: Session) -> int:
    db_session.rollback()
    return db_session.scalar(select(func.count()).select_from(Transaction)) or 0


@pytest.mark.usefixtures("cli_env")
def test_import_and_reimport_is_idempotent(tmp_path: Path, db_session: Session) -> None:
    rows = [row(), row(amount="88.00"), row(txn_type="void", original_ref_no="000000000100")]
    path = write_csv(tmp_path / "a.csv", rows)
    code, out = import_file(path)
    assert code == 0, out
    assert "3 new" in out
    first = db_session.execute(select(Transaction.__table__).order_by(Transaction.id)).all()
    code, out = import_file(path)
    assert code == 0 and "0 new" in out
    assert db_session.execute(select(Transaction.__table__).order_by(Transaction.id)).all() == first


@pytest.mark.usefixtures("cli_env")
def test_reimport_updates_status(tmp_path: Path, db_session: Session) -> None:
    original = row(ref_no="612300000001")
    import_file(write_csv(tmp_path / "a.csv", [original]))
    settled = {**original, "settlement_status": "settled", "settlement_date": "2026-11-26"}
    code, _ = import_file(write_csv(tmp_path / "b.csv", [settled]))
    assert code == 0 and count(db_session) == 1
    assert db_session.scalar(select(Transaction.settlement_status)) == "settled"
    batch = db_session.scalars(select(SettlementBatch)).one()
    assert (batch.status, batch.txn_count, batch.total_fen) == ("settled", 1, 32050)


@pytest.mark.usefixtures("cli_env")
def test_bad_rows_import_nothing_and_are_reported(tmp_path: Path, db_session: Session) -> None:
    rows = [
        row(),
        row(amount="12.345"),
        row(merchant_no="123", txn_time="yesterday"),
        row(txn_type="refund"),
        row(card_no="1234"),
    ]
    code, out = import_file(write_csv(tmp_path / "bad.csv", rows))
    assert code != 0
    assert "line 3, column amount" in out
    assert "line 4, column merchant_no" in out and "line 4, column txn_time" in out
    assert "line 5, column original_ref_no" in out
    assert "line 6, column card_no" in out
    assert "nothing was imported" in out
    assert count(db_session) == 0


@pytest.mark.usefixtures("cli_env")
def test_malformed_csv(tmp_path: Path, db_session: Session) -> None:
    path = tmp_path / "broken.csv"
    good = write_csv(tmp_path / "g.csv", [row()]).read_text()
    path.write_text(good + '865310054119001,"T0000001,sale\n')
    code, out = import_file(path)
    assert code != 0 and "line 3" in out
    assert count(db_session) == 0
    short = tmp_path / "short.csv"
    short.write_text(good + "865310054119001,T0000001\n")
    code, out = import_file(short)
    assert code != 0 and "line 3" in out and "expected 17 fields" in out


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_encodings(tmp_path: Path, db_session: Session, encoding: str) -> None:
    # A Chinese order note would break in the wrong codec; the header must still match.
    path = write_csv(tmp_path / "e.csv", [row(order_no="QR20261125ABCDEF01")], encoding)
    code, out = import_file(path)
    assert code == 0, out
    assert count(db_session) == 1


@pytest.mark.usefixtures("cli_env")
def test_gbk_header_problem_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cn.csv"
    path.write_bytes(("商户号," + ",".join(COLUMNS[1:]) + "\n").encode("gbk"))
    code, out = import_file(path)
    assert code != 0 and "missing: merchant_no" in out and "unknown: 商户号" in out
    code, out = import_file(path, "--encoding", "latin-1")
    assert code != 0 and "missing: merchant_no" in out


@pytest.mark.usefixtures("cli_env")
def test_empty_and_header_only(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, out = import_file(empty)
    assert code != 0 and "empty" in out
    header = write_csv(tmp_path / "h.csv", [])
    code, out = import_file(header)
    assert code != 0 and "no rows" in out


@pytest.mark.usefixtures("cli_env")
def test_duplicate_rows(tmp_path: Path, db_session: Session) -> None:
    same = row()
    code, out = import_file(write_csv(tmp_path / "d.csv", [same, same]))
    assert code == 0 and "1 new" in out and "1 repeated row" in out
    clash = {**same, "amount": "1.00"}
    code, out = import_file(write_csv(tmp_path / "c.csv", [same, clash]))
    assert code != 0 and "same transaction as line 2" in out


@pytest.mark.usefixtures("cli_env")
def test_jsonl_and_unknown_merchant_created(tmp_path: Path, db_session: Session) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [row(merchant_no="865310054119777")]) + "\n")
    code, out = import_file(path)
    assert code == 0, out
    assert db_session.scalar(
        text("SELECT count(*) FROM merchant WHERE merchant_no='865310054119777'")
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"merchant_no": "1"\n[1,2]\n')
    code, out = import_file(bad)
    assert code != 0 and "line 1" in out and "line 2" in out


@pytest.mark.usefixtures("cli_env")
def test_full_card_number_is_never_stored(tmp_path: Path, db_session: Session,
                                          database_url: str) -> None:  # fmt: skip
    code, _ = import_file(write_csv(tmp_path / "p.csv", [row(card_no=CARD_1)]))
    assert code == 0
    txn = db_session.scalars(select(Transaction)).one()
    assert txn.card_masked == "622202******0128"
    dump = " ".join(str(v) for v in db_session.execute(select(Transaction.__table__)).one())
    assert CARD_1 not in dump and CARD_1[6:15] not in dump
    if database_url.startswith("sqlite"):
        db_session.close()
        db_file = Path(database_url.removeprefix("sqlite:///"))
        for path in (db_file, db_file.with_name(db_file.name + "-wal")):
            if path.exists():
                assert CARD_1.encode() not in path.read_bytes()
