"""The bot uses the service's words: drop codes, statuses, responses for each, nothing stale."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.utils.io import read_yaml_file

from actions import vocabulary
from actions.diagnosis import SEPARATING, render
from actions.escalation import announcement
from actions.merchant_claims import Claims
from actions.tickets import progress

from .conftest import ROOT
from .contract import api
from .fake_service import NOW

DOMAIN: dict[str, Any] = read_yaml_file(ROOT / "bot" / "domain.yml")
RESPONSES: dict[str, Any] = DOMAIN["responses"]
SLOTS = {"order_ref": "612300000001", "amount": "320.50"}
# Every shape of answer render() tells apart: what needs a person, what can be voided, what
# separates the candidates of an ambiguous diagnosis.
RESULT_SHAPES: list[dict[str, Any]] = [
    {"needs_human": False, "next_steps": []},
    {"needs_human": True, "next_steps": ["escalate"]},
    {"needs_human": False, "next_steps": ["void_extra_today"]},
    {"needs_human": False, "next_steps": ["refund_extra"]},
    *({"details": {"separating": s}} for s in SEPARATING),
    {"details": {"separating": "something new"}},
    *({"details": {"how": how}} for how in ("reversed", "voided", "refunded")),
    # dates ahead of and behind NOW (a reversal long back, a settlement date that has passed)
    *({"details": {"money_back_by": d, "expected_date": d}} for d in ("2026-11-26", "2026-11-20")),
]
# What the merchant said about the drop (not_found answers depend on it).
CLAIMS = [Claims(), Claims(charged=True), Claims(not_arrived=True), Claims(True, True)]


def placeholders(response: str) -> set[str]:
    """The {variables} a domain response needs."""
    return {
        name for variant in RESPONSES[response] for name in re.findall(r"{(\w+)}", variant["text"])
    }


def rendered(code: str) -> set[tuple[str, frozenset[str]]]:
    """Each response render() can pick for a code, with the variables it passes."""
    return {
        (answer.response, frozenset(answer.variables) | {"heard"})
        for shape in RESULT_SHAPES
        for claims in CLAIMS
        for asked in ([], list(SEPARATING))  # a question left to ask, or none
        for answer in [
            render(
                code,
                {"transactions": [], **shape},
                SLOTS,
                today=NOW.date(),
                claims=claims,
                asked=asked,
            )
        ]
    }


def test_the_diagnosis_code_slot_lists_exactly_the_services_codes() -> None:
    values = DOMAIN["slots"]["diagnosis_code"]["values"]
    assert len(values) == len(set(values))
    assert set(values) == set(vocabulary.drop_codes())


@pytest.mark.parametrize("code", vocabulary.drop_codes())
def test_every_code_has_a_response_with_its_variables(code: str) -> None:
    for name, given in rendered(code):
        assert name in RESPONSES, (code, name)
        assert placeholders(name) <= given, (code, name, placeholders(name) - given)


def test_no_diagnosis_response_is_left_without_a_code() -> None:
    produced = {name for code in vocabulary.drop_codes() for name, _ in rendered(code)}
    assert render("lost", {}, SLOTS, today=NOW.date()).response == "utter_diagnosis_unknown"
    stale = {
        name
        for name in RESPONSES
        if name.startswith(("utter_diagnosis_", "utter_ask_separating_", "utter_ambiguous_"))
        and name not in produced | {"utter_diagnosis_unknown"}
    }
    assert stale == set()


def test_codes_that_need_a_person_are_drop_codes() -> None:
    assert vocabulary.needs_human_codes() <= set(vocabulary.drop_codes())
    assert vocabulary.needs_human_codes()  # the file was read, not an empty default


def test_every_ticket_status_of_the_api_has_merchant_words() -> None:
    statuses = api()["endpoints"]["tickets"]["response"]["$defs"]["TicketStatus"]["enum"]
    texts = vocabulary.ticket_statuses()
    assert set(statuses) == set(texts)
    assert all(texts.values())


def test_every_escalation_reason_of_the_api_is_in_the_vocabulary() -> None:
    schema = api()["endpoints"]["escalate"]["request"]
    assert set(schema["$defs"]["EscalationReason"]["enum"]) == vocabulary.escalation_reasons()


@pytest.mark.parametrize(
    "ticket",
    [
        {"offline": False, "queue_position": 2, "expected_wait_minutes": 10},
        {"offline": False, "queue_position": 0, "expected_wait_minutes": 0},
        {"offline": True, "next_opening": "2026-11-26T09:00:00+08:00"},
    ],
)
def test_escalation_responses_get_their_variables(ticket: dict[str, Any]) -> None:
    name, variables = announcement({"ticket_no": "DD-20261125-0001"} | ticket, NOW)
    assert placeholders(name) == set(variables)


def test_ticket_status_response_gets_its_variables() -> None:
    ticket = {
        "ticket_no": "DD-20261125-0001",
        "status": "assigned",
        "assignee": None,
        "updated_at": (NOW - dt.timedelta(hours=1)).isoformat(),
        "last_update": "",
    }
    assert placeholders("utter_ticket_status") == set(progress(ticket, NOW))


def _names(value: ast.expr | None) -> list[str]:
    """Response names written in the code: literals, both sides of an if, f-string prefixes."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [value.value]
    if isinstance(value, ast.IfExp):
        return _names(value.body) + _names(value.orelse)
    if isinstance(value, ast.JoinedStr) and isinstance(value.values[0], ast.Constant):
        return [f"{value.values[0].value}*"]
    return []  # a variable: render() and announcement() are tested above


def _utterances(path: Path) -> list[tuple[str, set[str] | None]]:
    """(response name or f-string prefix, keyword names or None when **variables) per call."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        given = None if None in keywords else {k for k in keywords if k and k != "response"}
        found += [(name, given) for name in _names(keywords.get("response"))]
    return found


@pytest.mark.parametrize("module", sorted((ROOT / "actions").glob("*.py")), ids=lambda p: p.name)
def test_every_response_an_action_names_is_in_the_domain(module: Path) -> None:
    for name, given in _utterances(module):
        if name.endswith("*"):
            assert any(r.startswith(name[:-1]) for r in RESPONSES), name
            continue
        assert name in RESPONSES, name
        if given is not None:
            assert placeholders(name) <= given, (name, placeholders(name) - given)
