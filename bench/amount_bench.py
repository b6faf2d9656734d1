"""Share of the amount table (tests/bot/amount_table.py) the normaliser reads right; must be 100 %.

Run with the bot runtime: .venv-bot/bin/python bench/amount_bench.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions.normalise import read_amount  # noqa: E402
from tests.bot.amount_table import AMOUNT_TABLE  # noqa: E402


def reading(text: str) -> str | None:
    """Render a reading as the table writes it."""
    found = read_amount(text)
    if found is None:
        return None
    return ("" if found.sure else "?") + f"{found.value:.2f}"


def main() -> int:
    wrong = [(text, want, reading(text)) for text, want in AMOUNT_TABLE if reading(text) != want]
    for text, want, got in wrong:
        print(f"  wrong: {text!r} expected {want} got {got}")
    right = len(AMOUNT_TABLE) - len(wrong)
    sure = sum(1 for _, want in AMOUNT_TABLE if want and not want.startswith("?"))
    unsure = sum(1 for _, want in AMOUNT_TABLE if want and want.startswith("?"))
    print(
        f"amounts: {right}/{len(AMOUNT_TABLE)} right ({100 * right / len(AMOUNT_TABLE):.1f} %); "
        f"table: {sure} sure, {unsure} to confirm, {len(AMOUNT_TABLE) - sure - unsure} no amount"
    )
    return 0 if not wrong else 1


if __name__ == "__main__":
    raise SystemExit(main())
