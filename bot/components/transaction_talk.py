"""A message that names a transaction is about that transaction, whatever else it asks.

"昨天下午四点二十 199 我撤销了 顾客说钱没退" reads like a question about refund times
(ask_refund_time) and "昨天早上九点一刻 460 什么时候到账" like one about settlement cycles; the
general answer to either is no answer for this merchant, whose transaction can be looked up.
When the message carries a reference, or an amount and a time, and the intent is one of the
general questions or small talk, the intent becomes report_drop, so the drop form reads the
details and the diagnosis answers about this very transaction (its answer covers the timing).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions import drop_details
from actions.normalise import parse_amount, parse_reference, parse_time, spelling

REPORT = "report_drop"


def names_a_transaction(text: str) -> bool:
    """A reference (or the terminal it ran on), or an amount and a time: enough to look the
    transaction up, or to tell candidates apart."""
    folded = spelling.fold(text)
    if parse_reference(folded) is not None or drop_details.terminal_named(folded) is not None:
        return True
    now = drop_details.now_shanghai()
    return parse_amount(folded) is not None and parse_time(folded, now) is not None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TransactionTalk(GraphComponent):
    """Turn a general question that names a transaction into a drop report."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"general_intents": []}

    def __init__(self, config: dict[str, Any]) -> None:
        self.general = frozenset(config["general_intents"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TransactionTalk:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) not in self.general:
                continue
            if not names_a_transaction(str(message.get(TEXT) or "")):
                continue
            confidence = max(float(intent.get("confidence") or 0.0), 0.5)
            message.set(
                INTENT, {INTENT_NAME_KEY: REPORT, "confidence": confidence}, add_to_output=True
            )
            ranking = [
                r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != REPORT
            ]
            message.set(
                INTENT_RANKING_KEY,
                [{INTENT_NAME_KEY: REPORT, "confidence": confidence}, *ranking],
                add_to_output=True,
            )
        return messages
