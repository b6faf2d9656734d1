"""Do two bot runtimes parse the same sentences the same way? (run each with its bot venv)

    python bench/parse_compare.py parse MODEL OUT.json      # every NLU example, parsed
    python bench/parse_compare.py compare A.json B.json     # intent, confidence, entities

The sentences are every example in data/nlu/ and in the held-out sets. Used to check a new
interpreter or a new lock (e.g. Python 3.10 -> 3.11): a model trained from the same data on
each runtime should parse them alike; confidences are compared to 3 decimal places.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "data" / "nlu", ROOT / "tests" / "bot" / "heldout"]


def sentences() -> list[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    texts: set[str] = set()
    for source in SOURCES:
        for path in sorted(source.rglob("*.yml")):
            data = load_data(str(path))
            texts.update(m.get("text") for m in data.training_examples if m.get("text"))
    return sorted(texts)


def summary(parsed: dict[str, Any]) -> dict[str, Any]:
    return {
        "intent": parsed["intent"]["name"],
        "confidence": round(float(parsed["intent"]["confidence"]), 3),
        "entities": sorted(
            (e["entity"], str(e["value"]), e["start"], e["end"]) for e in parsed["entities"]
        ),
    }


async def parse_all(model: str) -> dict[str, Any]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    return {text: summary(await agent.parse_message(text)) for text in sentences()}


def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
    shared = sorted(set(a) & set(b))
    differ = [t for t in shared if a[t] != b[t]]  # both as read back from JSON
    intents = sum(a[t]["intent"] == b[t]["intent"] for t in shared)
    entities = sum(a[t]["entities"] == b[t]["entities"] for t in shared)
    print(f"sentences: {len(shared)} (only in one: {len(set(a) ^ set(b))})")
    print(f"same intent: {intents}/{len(shared)}; same entities: {entities}/{len(shared)}")
    print(f"identical (intent, confidence to 3 dp, entities): {len(shared) - len(differ)}")
    for text in differ[:20]:
        print(f"  {text!r}: {a[text]} != {b[text]}")
    return 1 if differ else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["parse"] and len(argv) == 3:
        result = asyncio.run(parse_all(argv[1]))
        Path(argv[2]).write_text(json.dumps(result, ensure_ascii=False, indent=1))
        print(f"{len(result)} sentences parsed with Python {sys.version.split()[0]}")
        return 0
    if argv[:1] == ["compare"] and len(argv) == 3:
        return compare(*(json.loads(Path(p).read_text()) for p in argv[1:]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
