"""Play a written conversation through the chat API and judge what the bot did.

A conversation file (tests/e2e/conversations/*.yml) names its store (`store:`, default
store.yml) and lists conversations: merchant, class, turns and what is expected at the end
(see suite.yml's header). The same runner serves the suite in `make test` and the figures
of bench/conversation_eval.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from dropdesk.auth.service import issue_merchant_token
from dropdesk.database.core import session_scope
from dropdesk.devrun import Stack
from dropdesk.timezone import now_shanghai
from tests.e2e import conversation_store

CONVERSATIONS = Path(__file__).parent / "conversations"
# The bot's questions for a value, by the evidence field they ask for.
ASKS = {"amount": ("金额是多少",), "txn_time": ("什么时候刷的",), "order_ref": ("参考号（签购单",)}
# A duplicate lists both charges, an undone sale its void or refund beside it.
SEVERAL = frozenset({"duplicate_charge", "reversed", "ambiguous"})


@dataclass
class ConversationSet:
    name: str
    store: dict[str, Any]
    conversations: list[dict[str, Any]]


def read_set(path: Path) -> ConversationSet:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    store = conversation_store.read(path.parent / str(data.get("store") or "store.yml"))
    return ConversationSet(path.name, store, list(data["conversations"]))


@dataclass
class Run:
    """What happened in one conversation."""

    loaded_at: dt.datetime
    state: dict[str, Any] = field(default_factory=dict)
    replies: list[list[str]] = field(default_factory=list)
    diagnoses: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    repeats: int = 0
    first_diagnosis: int | None = None
    error: str | None = None

    def transcript(self, turns: list[str]) -> str:
        lines = []
        for said, answered in zip(turns, self.replies, strict=False):
            lines.append(f"商户: {said}")
            lines.extend(f"  机器人: {text}" for text in answered)
        return "\n".join(lines)


def _refs(diagnosis: dict[str, Any] | None) -> tuple[str, ...]:
    return tuple(str(t.get("ref_no")) for t in (diagnosis or {}).get("transactions", []))


def play(stack: Stack, store: dict[str, Any], convo: dict[str, Any]) -> Run:
    """Reload the store as of now, then say every turn in a new session."""
    now = now_shanghai()
    with session_scope(stack.settings.database_url) as db:
        conversation_store.load(db_session=db, store=store, now=now)
    run = Run(loaded_at=now)
    token = issue_merchant_token(merchant_no=str(convo["merchant"]), settings=stack.settings)
    with httpx.Client(base_url=stack.base_url, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
        sid = http.post("/api/v1/sessions").raise_for_status().json()["session_id"]
        held: dict[str, Any] = {}
        for n, text in enumerate(convo["turns"], start=1):
            body = http.post(f"/api/v1/sessions/{sid}/messages", json={"text": str(text)})
            if body.is_error:
                run.error = f"turn {n}: HTTP {body.status_code} {body.text[:200]}"
                break
            said = [m["text"] for m in body.json()["messages"]]
            run.replies.append(said)
            for name, cues in ASKS.items():
                if held.get(name) and any(c in s for s in said for c in cues):
                    run.repeats += 1
            run.state = body.json()["session"]
            held = run.state["evidence"]
            diagnosis = run.state.get("diagnosis")
            if diagnosis is not None:
                seen = (str(diagnosis["code"]), _refs(diagnosis))
                if not run.diagnoses or run.diagnoses[-1] != seen:
                    run.diagnoses.append(seen)
                if run.first_diagnosis is None:
                    run.first_diagnosis = n
    return run


def _singles_out(code: str, refs: tuple[str, ...], ref: str) -> bool:
    return ref in refs and (code in SEVERAL or len(refs) == 1)


def _check_code(expect: dict[str, Any], state: dict[str, Any]) -> list[str]:
    code = expect.get("code")
    diagnosis = state.get("diagnosis") or {}
    got = diagnosis.get("code")
    if code == "escalated":
        if state.get("status") not in ("queued", "agent"):
            return [f"expected an escalation, status {state.get('status')}"]
        return []
    if code == "none":
        return [f"expected no diagnosis, got {got}"] if got is not None else []
    problems = [f"code {got} != {code}"] if code and got != code else []
    ref = expect.get("ref_no")
    if ref and not _singles_out(str(got), _refs(diagnosis), str(ref)):
        problems.append(f"transactions {list(_refs(diagnosis))} do not single out {ref}")
    return problems


def _check_evidence(expect: dict[str, Any], run: Run) -> list[str]:
    evidence = run.state.get("evidence") or {}
    problems = []
    for key, value in (expect.get("evidence") or {}).items():
        got = evidence.get(key)
        if key == "order_ref" and value == "unknown":
            value = None
        if got != value:
            problems.append(f"evidence {key} {got!r} != {value!r}")
    if expect.get("time_at"):
        moment = conversation_store.moment(str(expect["time_at"]), run.loaded_at)
        window = evidence.get("txn_time")
        if not window:
            problems.append(f"no time window, expected one containing {moment:%m-%d %H:%M}")
        else:
            start, end = (dt.datetime.fromisoformat(window[k]) for k in ("start", "end"))
            if not start <= moment <= end:
                problems.append(f"window {start:%m-%d %H:%M}–{end:%m-%d %H:%M} "
                                f"misses {moment:%m-%d %H:%M}")  # fmt: skip
    return problems


def _check_sequence(expect: dict[str, Any], run: Run) -> list[str]:
    wanted = expect.get("diagnoses") or []
    got = list(run.diagnoses)
    position = 0
    for item in wanted:
        code, ref = str(item["code"]), item.get("ref_no")
        while position < len(got) and not (
            got[position][0] == code and (not ref or _singles_out(code, got[position][1], ref))
        ):
            position += 1
        if position == len(got):
            return [f"diagnoses {got} lack {code} {ref or ''} in order"]
        position += 1
    return []


def judge(convo: dict[str, Any], run: Run) -> list[str]:
    """What went wrong (empty: the conversation passed)."""
    expect = convo.get("expect") or {}
    problems = [run.error] if run.error else []
    problems += _check_code(expect, run.state)
    problems += _check_evidence(expect, run)
    problems += _check_sequence(expect, run)
    everything = "\n".join(t for turn in run.replies for t in turn)
    last = "\n".join(run.replies[-1]) if run.replies else ""
    if expect.get("must_say_any") and not any(s in last for s in expect["must_say_any"]):
        problems.append(f"last reply says none of {expect['must_say_any']}")
    problems += [f"said {s!r}" for s in expect.get("must_not_say") or [] if s in everything]
    problems += [f"last said {s!r}" for s in expect.get("must_not_say_last") or [] if s in last]
    most = expect.get("max_turns_to_diagnosis")
    if most and (run.first_diagnosis is None or run.first_diagnosis > most):
        problems.append(f"diagnosed at turn {run.first_diagnosis} > {most}")
    return problems
