"""GroupedFallbackClassifier: no "which did you mean?" between intents with the same next step."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.fallback import GroupedFallbackClassifier

GROUP = [["report_drop", "inform", "correct_info"]]


def fallback_intent(ranking: list[tuple[str, float]], **config: Any) -> str:
    config = {**GroupedFallbackClassifier.get_default_config(), "threshold": 0.4,
              "ambiguity_threshold": 0.05, "same_next_step": GROUP, **config}  # fmt: skip
    classifier = GroupedFallbackClassifier.create(config, None, None, None)  # type: ignore[arg-type]
    ranked = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    message = Message(data={"text": "x", "intent": ranked[0], "intent_ranking": ranked})
    classifier.process([message])
    return str(message.get("intent")["name"])


@pytest.mark.parametrize(
    ("ranking", "expected"),
    [
        # A drop report that is also a set of details: the form opens either way.
        ([("inform", 0.51), ("report_drop", 0.49)], "inform"),
        # Low alone, but the group together is sure enough.
        ([("report_drop", 0.35), ("correct_info", 0.30), ("greet", 0.2)], "report_drop"),
        # Different next steps: ask.
        ([("inform", 0.51), ("ask_settlement_time", 0.49)], "nlu_fallback"),
        ([("affirm", 0.50), ("deny", 0.48)], "nlu_fallback"),
        ([("greet", 0.3), ("chitchat", 0.2)], "nlu_fallback"),
        # Sure and alone: passed on.
        ([("deny", 0.9), ("affirm", 0.05)], "deny"),
    ],
)
def test_fallback_only_when_the_choice_matters(
    ranking: list[tuple[str, float]], expected: str
) -> None:
    assert fallback_intent(ranking) == expected


def test_without_groups_it_is_rasas_fallback() -> None:
    assert fallback_intent([("inform", 0.51), ("report_drop", 0.49)], same_next_step=[]) == (
        "nlu_fallback"
    )
