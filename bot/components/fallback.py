"""Rasa's FallbackClassifier, told which intents lead to the same next step.

"昨晚450的那笔显示超时，参考号612300000450" is a drop report (report_drop) and a set of
details (inform) at once; the classifier splits its confidence between them (0.51 / 0.49) and
the stock FallbackClassifier then calls it ambiguous and asks the merchant what they meant,
although all three detail intents open the drop form. Here intents in one group count as one
for both tests: the group's summed confidence against the threshold, and no ambiguity between
two members. The top intent is still the one passed on, so the form sees the best guess.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class GroupedFallbackClassifier(FallbackClassifier):
    """Fall back only when the choice between the likely intents changes what happens next."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**FallbackClassifier.get_default_config(), "same_next_step": []}

    def _group(self, intent: str | None) -> set[str]:
        for group in self.component_config["same_next_step"]:
            if intent in group:
                return set(group)
        return {intent} if intent else set()

    def _nlu_confidence_below_threshold(self, message: Message) -> tuple[bool, float]:
        group = self._group(message.data[INTENT].get(INTENT_NAME_KEY))
        confidence = sum(
            float(ranked.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
            for ranked in message.data.get(INTENT_RANKING_KEY, [])
            if ranked.get(INTENT_NAME_KEY) in group
        ) or float(message.data[INTENT].get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        return confidence < self.component_config["threshold"], confidence

    def _nlu_prediction_ambiguous(self, message: Message) -> tuple[bool, float | None]:
        ranking = message.data.get(INTENT_RANKING_KEY, [])
        if len(ranking) >= 2 and ranking[1].get(INTENT_NAME_KEY) in self._group(
            ranking[0].get(INTENT_NAME_KEY)
        ):
            return False, None
        return super()._nlu_prediction_ambiguous(message)
