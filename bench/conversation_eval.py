"""Whole conversations through the chat API against the real model: the figures of issue 20.

Usage: python bench/conversation_eval.py MODEL SET.yml [SET.yml ...]
       (store: tests/e2e/conversations/store.yml, reloaded as of now before every conversation)

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

import httpx
import yaml

from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import ROOT
from dropdesk.database.core import session_scope
from dropdesk.devrun import Stack, local_stack
from dropdesk.timezone import now_shanghai
from tests.e2e import conversation_store

STORE = ROOT / "tests" / "e2e" / "conversations" / "store.yml"
# The bot's questions for a value, by the evidence field they ask for.
ASKS = {"amount": ("金额是多少",), "txn_time": ("什么时候刷的",), "order_ref": ("参考号（签购单",)}


def run_one(stack: Stack, store: dict[str, Any], convo: dict[str, Any]) -> dict[str, Any]:
    with session_scope(stack.settings.database_url) as db:
        conversation_store.load(db_session=db, store=store, now=now_shanghai())
    token = issue_merchant_token(merchant_no=str(convo["merchant"]), settings=stack.settings)
    replies: list[list[str]] = []
    repeats, first_diagnosis = 0, None
    with httpx.Client(base_url=stack.base_url, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
        sid = http.post("/api/v1/sessions").raise_for_status().json()["session_id"]
        held: dict[str, Any] = {}
        state: dict[str, Any] = {}
        for n, text in enumerate(convo["turns"], start=1):
            body = http.post(f"/api/v1/sessions/{sid}/messages", json={"text": str(text)})
            body.raise_for_status()
            said = [m["text"] for m in body.json()["messages"]]
            replies.append(said)
            for field, cues in ASKS.items():
                if held.get(field) and any(c in s for s in said for c in cues):
                    repeats += 1
            state = body.json()["session"]
            held = state["evidence"]
            if first_diagnosis is None and state["diagnosis"] is not None:
                first_diagnosis = n
    return {"state": state, "replies": replies, "repeats": repeats,
            "first_diagnosis": first_diagnosis}  # fmt: skip


def judge(convo: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """What went wrong (empty: the conversation passed)."""
    expect, state = convo.get("expect") or {}, run["state"]
    problems = []
    code = expect.get("code")
    got = (state.get("diagnosis") or {}).get("code")
    if code == "escalated":
        if state.get("status") not in ("queued", "agent"):
            problems.append(f"expected an escalation, status {state.get('status')}")
    elif code == "none":
        if got is not None:
            problems.append(f"expected no diagnosis, got {got}")
    elif code and got != code:
        problems.append(f"code {got} != {code}")
    ref = expect.get("ref_no")
    if ref and code not in ("escalated", "none"):
        refs = [t.get("ref_no") for t in (state.get("diagnosis") or {}).get("transactions", [])]
        # A duplicate lists both charges, an undone sale its void or refund beside it.
        several = code in ("duplicate_charge", "reversed", "ambiguous")
        if ref not in refs or (not several and len(refs) != 1):
            problems.append(f"transactions {refs} do not single out {ref}")
    for key, value in (expect.get("evidence") or {}).items():
        if state.get("evidence", {}).get(key) != value:
            problems.append(f"evidence {key} {state.get('evidence', {}).get(key)!r} != {value!r}")
    everything = "\n".join(t for turn in run["replies"] for t in turn)
    last = "\n".join(run["replies"][-1]) if run["replies"] else ""
    if expect.get("must_say_any") and not any(s in last for s in expect["must_say_any"]):
        problems.append(f"last reply says none of {expect['must_say_any']}")
    for banned in expect.get("must_not_say") or []:
        if banned in everything:
            problems.append(f"said {banned!r}")
    most = expect.get("max_turns_to_diagnosis")
    if most and (run["first_diagnosis"] is None or run["first_diagnosis"] > most):
        problems.append(f"diagnosed at turn {run['first_diagnosis']} > {most}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("sets", type=Path, nargs="+")
    args = parser.parse_args()
    store = conversation_store.read(STORE)
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
            convos = yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]
            passed: Counter[str] = Counter()
            total: Counter[str] = Counter()
            turns, repeats, failures = [], 0, []
            for convo in convos:
                run = run_one(stack, store, convo)
                problems = judge(convo, run)
                cls = str(convo.get("class", "?"))
                total[cls] += 1
                passed[cls] += not problems
                repeats += run["repeats"]
                if run["first_diagnosis"] is not None:
                    turns.append(run["first_diagnosis"])
                if problems:
                    failures.append(
                        {
                            "id": convo["id"],
                            "class": cls,
                            "problems": problems,
                            "turns": convo["turns"],
                            "replies": run["replies"],
                        }
                    )
            report[path.name] = failures
            ok = sum(passed.values())
            print(f"{path.name}: {ok}/{len(convos)} conversations pass "
                  f"({ok / len(convos):.0%}); median merchant turns to a diagnosis "
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
