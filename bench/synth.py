"""Synthetic transaction exports for the benchmarks (deterministic)."""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

from dropdesk.transaction.importer import COLUMNS

START = dt.datetime(2026, 10, 1, 8, 0)
OUTCOMES = [
    ("00", "completed", "none", "settled"),
    ("00", "completed", "none", "unsettled"),
    ("00", "timeout", "none", "unsettled"),
    ("00", "timeout", "reversed", "unsettled"),
    ("51", "completed", "none", "unsettled"),
    ("", "timeout", "none", "unsettled"),
]
WEIGHTS = [60, 25, 5, 3, 5, 2]


def merchant_no(i: int) -> str:
    return f"86531005{i:07d}"


def rows(count: int, merchants: int, seed: int = 42) -> Iterator[dict[str, str]]:
    """Yield valid import rows spread over merchants, two terminals each."""
    rng = random.Random(seed)
    per_merchant = max(1, count // merchants)
    for i in range(count):
        m = i // per_merchant % merchants
        code, terminal, reversal, settlement = rng.choices(OUTCOMES, WEIGHTS)[0]
        when = START + dt.timedelta(minutes=(i % per_merchant) * 7 + rng.randint(0, 5))
        card = f"622202{rng.randint(0, 999999999):09d}{rng.randint(1000, 9999)}"
        yield {
            "merchant_no": merchant_no(m), "terminal_no": f"T{m:05d}{i % 2:02d}",
            "txn_type": "sale", "order_no": f"QR{i:014d}", "trace_no": f"{i % 1_000_000:06d}",
            "ref_no": f"{i:012d}", "batch_no": f"{i // 500 % 1_000_000:06d}",
            "auth_code": f"{rng.randint(0, 999999):06d}", "card_no": card,
            "amount": f"{rng.randint(100, 500000) / 100:.2f}", "txn_time": when.isoformat(),
            "response_code": code, "terminal_status": terminal, "reversal_status": reversal,
            "settlement_status": settlement,
            "settlement_date": (when.date() + dt.timedelta(days=1)).isoformat()
            if settlement == "settled" else "",
            "original_ref_no": "",
        }  # fmt: skip


def write_csv(path: Path, count: int, merchants: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows(count, merchants))
    return path
