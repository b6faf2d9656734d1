"""The NLU training data keeps the conventions the tagger and the actions rely on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from actions.drop_details import retracted_spans
from actions.normalise import parse_amount, parse_ticket_no, parse_time
from actions.normalise.timewindow import shanghai
from bot.components.tokenizer import DropDeskTokenizer

ROOT = Path(__file__).parents[2]
DIET_LABELS = {"amount", "txn_time"}
NOW = dt.datetime(2026, 11, 25, 16, 30, tzinfo=shanghai())


@pytest.fixture(scope="module")
def examples() -> list[Message]:
    data = load_data(str(ROOT / "data/nlu"))
    return [m for m in data.intent_examples if m.get("entities")]


def test_every_entity_edge_falls_between_tokens(
    examples: list[Message], tokenizer: DropDeskTokenizer
) -> None:
    """An edge inside a token is a label DIET can never predict."""
    misaligned = []
    for message in examples:
        tokens = tokenizer.tokenize(Message(data={"text": message.get("text")}), "text")
        starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
        for entity in message.get("entities"):
            if entity["start"] not in starts or entity["end"] not in ends:
                misaligned.append((message.get("text"), entity["value"]))
    assert misaligned == []
    assert len(examples) > 300


def test_a_value_taken_back_is_annotated_too(examples: list[Message]) -> None:
    """不是320是[230]: both are amounts to the tagger; the actions drop the one taken back."""
    unannotated = []
    for message in examples:
        text, entities = message.get("text"), message.get("entities")
        if not DIET_LABELS & {e["entity"] for e in entities}:
            continue  # identifiers belong to the regex extractor
        for start, end in retracted_spans(text):
            value = text[start:end]
            if parse_amount(value) is None and parse_time(value, NOW) is None:
                continue  # 不是这笔, 不是那个: nothing to annotate
            if not any(e["start"] < end and start < e["end"] for e in entities):
                unannotated.append((text, value))
    assert unannotated == []


def test_ticket_numbers_are_annotated_as_ticket_no_only(examples: list[Message]) -> None:
    """DIET learns DD-20261203-0007 as a ticket_no everywhere, never as an order_ref."""
    wrong = []
    for message in examples:
        text = message.get("text")
        for entity in message.get("entities"):
            covers_ticket = parse_ticket_no(text[entity["start"] : entity["end"]]) is not None
            if covers_ticket != (entity["entity"] == "ticket_no"):
                wrong.append((text, entity["entity"], entity["value"]))
    assert wrong == []


def test_every_ticket_number_in_the_data_is_annotated() -> None:
    data = load_data(str(ROOT / "data/nlu"))
    missed = [
        m.get("text")
        for m in data.intent_examples
        if parse_ticket_no(m.get("text"))
        and not any(e["entity"] == "ticket_no" for e in m.get("entities") or [])
    ]
    assert missed == []


@pytest.mark.parametrize("held_out", ["set_a.yml", "set_b.yml"])
def test_ticket_questions_are_held_out_apart_from_training(held_out: str) -> None:
    trained = {
        m.get("text")
        for m in load_data(str(ROOT / "data/nlu")).intent_examples
        if m.get("intent") == "ask_ticket_status"
    }
    held = {
        m.get("text")
        for m in load_data(str(ROOT / "tests/bot/heldout" / held_out)).intent_examples
        if m.get("intent") == "ask_ticket_status"
    }
    assert len(trained) >= 40 and len(held) >= 8
    assert trained & held == set()
