"""A ticket number (DD-20261203-0007) is a ticket_no, never an order reference or any detail."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.regex_entity_extractor import RegexEntityExtractor
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from actions import drop_details
from actions.normalise import (
    parse_amount,
    parse_reference,
    parse_ticket_no,
    parse_time,
    says_no_reference,
)
from actions.normalise.timewindow import shanghai

from .conftest import ROOT

NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=shanghai())
ABOUT_TICKETS = [
    "DD-20261203-0007",
    "dd-20261203-0007",
    "工单号 DD-20261203-0007 处理到哪了",
    "工单号DD-20261203-0007",
    "工单号：DD-20261203-0007，有进展吗",
    "我的工单DD-20261203-0007怎么样了",
    "DD-20261203-0007这个工单",
    "ＤＤ－２０２６１２０３－０００７",
    "DD-20261313-0007",  # not a date: the date check alone would not save it
    "DD-20261203-12345",
    "工单号是12345678",  # whatever follows 工单号 names a ticket
    "工单号 DD-20261203-0007 那单处理好了没",
]


@pytest.fixture(scope="module")
def regex_extractor(tmp_path_factory: pytest.TempPathFactory) -> RegexEntityExtractor:
    """Rasa's RegexEntityExtractor as bot/config.yml sets it up, trained on data/nlu."""
    config = {
        **RegexEntityExtractor.get_default_config(),
        "use_word_boundaries": False,
        "use_lookup_tables": False,
        "use_regexes": True,
    }
    storage = LocalModelStorage(tmp_path_factory.mktemp("regex"))
    extractor = RegexEntityExtractor.create(config, storage, Resource("regex"), None)  # type: ignore[arg-type]
    extractor.train(load_data(str(ROOT / "data" / "nlu")))
    return extractor


def extracted(extractor: RegexEntityExtractor, text: str) -> list[tuple[str, Any]]:
    [message] = extractor.process([Message(data={"text": text})])
    return [(e["entity"], e["value"]) for e in message.get("entities") or []]


@pytest.mark.parametrize("text", ABOUT_TICKETS)
def test_a_ticket_number_is_never_an_order_ref(text: str) -> None:
    assert parse_reference(text) is None
    assert drop_details.order_ref(None, text) is None
    # What the NLU might have tagged: the number, or a run of digits inside it.
    for piece in re.findall(r"[A-Za-z0-9Ａ-Ｚ０-９]{6,}|[DdＤ]{2}[-－][^\s，]+", text):
        assert drop_details.order_ref(piece, text) is None, piece


@pytest.mark.parametrize("text", ABOUT_TICKETS)
def test_a_ticket_number_is_no_amount_time_or_missing_reference(text: str) -> None:
    assert parse_amount(text) is None
    assert parse_time(text, NOW) is None
    assert not says_no_reference(text)


@pytest.mark.parametrize("text", [t for t in ABOUT_TICKETS if parse_ticket_no(t)])
def test_the_regex_extractor_finds_the_ticket_and_no_order_ref(
    regex_extractor: RegexEntityExtractor, text: str
) -> None:
    entities = extracted(regex_extractor, text)
    assert [e for e in entities if e[0] == "order_ref"] == []
    tickets = [parse_ticket_no(v) for e, v in entities if e == "ticket_no"]
    assert tickets == [parse_ticket_no(text)]


def test_the_regex_extractor_still_finds_order_refs_beside_a_ticket(
    regex_extractor: RegexEntityExtractor,
) -> None:
    entities = extracted(regex_extractor, "工单DD-20261203-0007说的是参考号612300000001那笔")
    assert ("order_ref", "612300000001") in entities
    assert ("ticket_no", "DD-20261203-0007") in entities
    assert parse_reference("工单DD-20261203-0007说的是参考号612300000001那笔") is not None


@pytest.mark.parametrize(
    ("text", "ticket_no"),
    [
        ("工单号 dd-20261203-0007 处理到哪了", "DD-20261203-0007"),
        ("ＤＤ－２０２６１２０３－０００７", "DD-20261203-0007"),
        ("DD-20261203-0007，DD-20261201-0001", "DD-20261203-0007"),
        ("DD-2026120-0007", None),
        ("ADD-20261203-0007", None),
        ("DD20261203 0007", None),
        ("参考号612300000001", None),
    ],
)
def test_parse_ticket_no(text: str, ticket_no: str | None) -> None:
    assert parse_ticket_no(text) == ticket_no


def test_references_are_still_found_next_to_a_ticket_number() -> None:
    found = parse_reference("DD-20261203-0007 说的那笔 凭证号000123")
    assert found is not None and found.value == "000123"
    assert drop_details.order_ref("612300000001", "工单DD-20261203-0007，参考号612300000001") == (
        "612300000001"
    )
