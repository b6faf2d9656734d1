"""Whole conversations through the chat API against the real model: the figures of issue 20.

Usage: python bench/conversation_eval.py MODEL SET.yml [SET.yml ...]
       (each set names its store; the store is reloaded as of now before every conversation)

Prints, per set: conversations passed, by class; the median number of merchant turns to the
first diagnosis; how often the bot asked again for a value it already held. Details of every
failure go to var/eval/conversations.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from dropdesk.config import ROOT
from dropdesk.devrun import local_stack
from tests.e2e.conversation_runner import judge, play, read_set


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("sets", type=Path, nargs="+")
    parser.add_argument("--only", help="run only conversations whose id contains this")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        local_stack(
            Path(tmp),
            args.model.resolve(),
            ROOT / ".venv-bot",
            extra_env={"DROPDESK_WORKING_HOURS": "00:00-24:00"},
        ) as stack,  # fmt: skip
    ):
        for path in args.sets:
            cset = read_set(path)
            convos = [c for c in cset.conversations if not args.only or args.only in c["id"]]
            passed: Counter[str] = Counter()
            total: Counter[str] = Counter()
            turns, repeats, failures = [], 0, []
            for convo in convos:
                run = play(stack, cset.store, convo)
                problems = judge(convo, run)
                cls = str(convo.get("class", "?"))
                total[cls] += 1
                passed[cls] += not problems
                repeats += run.repeats
                if run.first_diagnosis is not None:
                    turns.append(run.first_diagnosis)
                if problems:
                    failures.append({"id": convo["id"], "class": cls, "problems": problems,
                                     "transcript": run.transcript(convo["turns"])})  # fmt: skip
            report[path.name] = failures
            ok = sum(passed.values())
            print(f"{path.name}: {ok}/{len(convos)} conversations pass "
                  f"({ok / max(len(convos), 1):.0%}); median merchant turns to a diagnosis "
                  f"{statistics.median(turns) if turns else '—'}; "
                  f"values asked for again {repeats}")  # fmt: skip
            for cls in sorted(total):
                print(f"  {cls:36s} {passed[cls]}/{total[cls]}")
    out = ROOT / "var" / "eval" / "conversations.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"failures: {out}")


if __name__ == "__main__":
    sys.exit(main())
