"""Join entity spans that one extractor split in two where they touch: 320块|5 is 320块5.

DIET tags entities token by token (BILOU); now and then it ends a span one token early and
starts a new one at the next token, so "刷了320块5" comes out as two amounts, 320块 and 5, and
the form would read the second as the amount. Two spans of the same entity from the same
extractor with no character between them are one value in this domain (an amount, a time such
as 昨天|下午三点): this component joins them. Spans with anything between them, even a space,
stay apart (不是500是580 keeps both values, and the actions drop the one taken back).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message


def join_touching(entities: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Entities with every touching pair of the same type and extractor made one."""
    joined: list[dict[str, Any]] = []
    # The latest span kept for each (type, extractor): the only one a new span can touch.
    latest: dict[tuple[Any, Any], dict[str, Any]] = {}
    for entity in sorted(entities, key=lambda e: int(e.get(ENTITY_ATTRIBUTE_START, 0))):
        key = (entity.get(ENTITY_ATTRIBUTE_TYPE), entity.get(EXTRACTOR))
        previous = latest.get(key)
        if (
            previous is not None
            and previous[ENTITY_ATTRIBUTE_END] == entity[ENTITY_ATTRIBUTE_START]
        ):
            previous[ENTITY_ATTRIBUTE_END] = entity[ENTITY_ATTRIBUTE_END]
            previous[ENTITY_ATTRIBUTE_VALUE] = text[
                previous[ENTITY_ATTRIBUTE_START] : previous[ENTITY_ATTRIBUTE_END]
            ]
            if ENTITY_ATTRIBUTE_CONFIDENCE in previous:
                previous[ENTITY_ATTRIBUTE_CONFIDENCE] = min(
                    float(previous[ENTITY_ATTRIBUTE_CONFIDENCE] or 0.0),
                    float(entity.get(ENTITY_ATTRIBUTE_CONFIDENCE) or 0.0),
                )
            continue
        latest[key] = dict(entity)
        joined.append(latest[key])
    return joined


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class TouchingEntityJoiner(GraphComponent):
    """Make touching spans of one entity type (from one extractor) a single entity."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TouchingEntityJoiner:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            if len(entities) > 1:
                message.set(
                    ENTITIES, join_touching(entities, str(message.get(TEXT) or "")),
                    add_to_output=True,
                )  # fmt: skip
        return messages
