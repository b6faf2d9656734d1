"""TouchingEntityJoiner: one value that DIET split into touching spans becomes one entity."""

from __future__ import annotations

from typing import Any

from rasa.shared.nlu.training_data.message import Message

from bot.components.entity_spans import TouchingEntityJoiner


def entity(kind: str, text: str, value: str, extractor: str = "DIETClassifier") -> dict[str, Any]:
    start = text.index(value)
    return {"entity": kind, "start": start, "end": start + len(value), "value": value,
            "extractor": extractor, "confidence_entity": 0.8}  # fmt: skip


def joined(text: str, entities: list[dict[str, Any]]) -> list[tuple[str, str]]:
    message = Message(data={"text": text, "entities": entities})
    TouchingEntityJoiner.create({}, None, None, None).process([message])  # type: ignore[arg-type]
    return [(e["entity"], e["value"]) for e in message.get("entities")]


def test_an_amount_split_by_the_tagger_is_one_amount() -> None:
    text = "刚才刷了320块5，机器显示超时"
    split = [entity("amount", text, "320块"), {**entity("amount", text, "5"), "start": 8, "end": 9}]
    assert joined(text, split) == [("amount", "320块5")]


def test_a_time_split_in_two_is_one_window() -> None:
    text = "昨天下午三点刷的"
    assert joined(
        text, [entity("txn_time", text, "昨天"), entity("txn_time", text, "下午三点")]
    ) == [("txn_time", "昨天下午三点")]


def test_values_with_anything_between_them_stay_apart() -> None:
    text = "不是500是580"
    assert joined(text, [entity("amount", text, "500"), entity("amount", text, "580")]) == [
        ("amount", "500"),
        ("amount", "580"),
    ]
    spaced = "320 5"
    assert joined(spaced, [entity("amount", spaced, "320"), entity("amount", spaced, "5")]) == [
        ("amount", "320"),
        ("amount", "5"),
    ]


def test_other_types_and_other_extractors_are_not_joined() -> None:
    text = "刚才320块"
    assert joined(text, [entity("txn_time", text, "刚才"), entity("amount", text, "320块")]) == [
        ("txn_time", "刚才"),
        ("amount", "320块"),
    ]
    ref = "参考号612300000001"
    both = [entity("order_ref", ref, "612300000001", "RegexEntityExtractor"),
            entity("order_ref", ref, "612300000001")]  # fmt: skip
    assert len(joined(ref, both)) == 2
