"""The compiled action-response validator judges answers exactly as Rasa's own check does,
and is installed only on the Rasa release it was written for."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
import rasa
from rasa.core.actions.action import RemoteAction

from bot import remote_actions

VALID: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "amount", "value": "320.50", "timestamp": None}],
     "responses": [{"text": "好的", "buttons": [{"title": "解决了", "payload": "/affirm"}]}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup",
                                                         "name": "action_listen"}]},
]  # fmt: skip
INVALID: list[dict[str, Any]] = [
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "value": 1}]},  # a slot event needs a name
    {"events": "not a list"},
    {"responses": ["not an object"]},
]


def rasa_verdict(result: dict[str, Any]) -> str | None:
    """What Rasa 3.6's own check (jsonschema.validate) says, as the error message or None."""
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError as error:
        return error.message
    return None


@pytest.mark.parametrize("result", VALID)
def test_valid_answers_pass(result: dict[str, Any]) -> None:
    assert rasa_verdict(result) is None
    assert remote_actions.validate_action_result(RemoteAction("x", None), result) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_answers_fail_with_rasas_message(result: dict[str, Any]) -> None:
    expected = rasa_verdict(result)
    assert expected is not None
    with pytest.raises(jsonschema.ValidationError) as caught:
        remote_actions.validate_action_result(RemoteAction("x", None), result)
    assert caught.value.message.startswith(expected)
    assert "Failed to validate Action server response" in caught.value.message


def test_install_replaces_rasas_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RemoteAction, "_validate_action_result",
                        RemoteAction._validate_action_result)  # fmt: skip
    remote_actions.install()
    action = RemoteAction("x", None)
    assert action._validate_action_result(VALID[1]) is True
    with pytest.raises(jsonschema.ValidationError):
        action._validate_action_result(INVALID[0])
    assert RemoteAction._validate_action_result is remote_actions.validate_action_result


@pytest.mark.parametrize("version", ["3.6.20", "3.7.0", "3.6.21rc1"])
def test_install_refuses_another_rasa(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    original = RemoteAction._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", original)
    monkeypatch.setattr(rasa, "__version__", version)
    with pytest.raises(RuntimeError, match=f"rasa {re.escape(version)} is installed"):
        remote_actions.install()
    assert RemoteAction._validate_action_result is original


def test_written_for_the_installed_rasa() -> None:
    assert rasa.__version__ == remote_actions.WRITTEN_FOR == "3.6.21"


def _event_samples() -> list[dict[str, Any]]:
    """Every Rasa event as its own as_dict writes it, then each field of each given a value
    of another type (valid or not, the fast check must say what the full schema says)."""
    import datetime as dt

    from rasa.shared.core import events as e

    samples = [
        e.UserUttered("320块", {"name": "inform", "confidence": 0.9},
                      [{"entity": "amount", "value": "320", "start": 0, "end": 4}]),
        e.BotUttered("好的", {"buttons": [{"title": "是", "payload": "/affirm"}]}),
        e.SlotSet("amount", "320.00"), e.SlotSet("flags", ["a"]), e.Restarted(),
        e.UserUtteranceReverted(), e.AllSlotsReset(), e.ReminderScheduled("x", dt.datetime.now()),
        e.ReminderCancelled(name="r"), e.ActionReverted(), e.StoryExported(),
        e.FollowupAction("action_listen"), e.ConversationPaused(), e.ConversationResumed(),
        e.ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0),
        e.AgentUttered("hi"), e.ActiveLoop("drop_form"), e.ActiveLoop(None),
        e.LegacyFormValidation(False), e.LoopInterrupted(True), e.ActionExecutionRejected("a"),
        e.SessionStarted(), e.EntitiesAdded([{"entity": "amount", "value": "3"}]),
        e.DefinePrevUserUtteredFeaturization(True),
    ]  # fmt: skip
    dicts = [event.as_dict() for event in samples]
    mutated = []
    for event in dicts:
        for key in event:
            for wrong in (7, "x", None, [1], {"a": 1}, 0.5, True):
                mutated.append({**event, key: wrong})
    return dicts + mutated + [{"event": 5}, {}, "not an object"]  # type: ignore[list-item]


def test_the_check_by_event_type_says_what_the_full_schema_says() -> None:
    samples = _event_samples()
    disagree = []
    for event in samples:
        result = {"events": [event], "responses": []}
        full = remote_actions._validator().is_valid(result)  # Rasa's schema, compiled once
        if remote_actions._valid_by_event(result) != full:
            disagree.append((event, full))
    assert not disagree, disagree[:3]
    # Both kinds are in the sample.
    verdicts = [remote_actions._validator().is_valid({"events": [event]}) for event in samples]
    assert sum(verdicts) > 50 and verdicts.count(False) > 50
