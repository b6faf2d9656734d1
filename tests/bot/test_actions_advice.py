"""action_software_advice and action_explain_response_code."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import service_client, vocabulary
from actions.advice import ActionExplainResponseCode, ActionSoftwareAdvice, is_outdated
from actions.response_codes import explain, find_code

from .fake_service import TERMINAL, BrokenDropDeskService, FakeDropDeskService, make_tracker


def run(action: Any, **tracker_args: Any) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, make_tracker(**tracker_args), {}))
    return dispatcher.messages


def test_software_advice_names_the_terminal_version() -> None:
    service_client.use_service(FakeDropDeskService())
    try:
        [message] = run(ActionSoftwareAdvice(), intent="ask_software_upgrade")
    finally:
        service_client.use_service(None)
    assert message["response"] == "utter_software_outdated"
    assert (message["terminal_no"], message["software_version"]) == ("10020001", "3.2.1")
    assert message["latest_software_version"] == "3.4.0"


def test_software_advice_without_the_service_gives_general_steps() -> None:
    service_client.use_service(BrokenDropDeskService())
    try:
        [message] = run(ActionSoftwareAdvice(), intent="ask_software_upgrade")
    finally:
        service_client.use_service(None)
    assert message["response"] == "utter_software_generic"


@pytest.mark.parametrize(
    ("current", "latest", "outdated"),
    [("3.2.1", "3.4.0", True), ("3.4.0", "3.4.0", False), ("3.10.0", "3.9.9", False)],
)
def test_is_outdated(current: str, latest: str, outdated: bool) -> None:
    terminal = TERMINAL | {"software_version": current, "latest_software_version": latest}
    assert is_outdated(terminal) is outdated


def test_response_code_from_entity() -> None:
    [message] = run(
        ActionExplainResponseCode(),
        intent="ask_response_code",
        text="返回码51是什么意思",
        entities=[{"entity": "response_code", "value": "51"}],
    )
    assert message["response"] == "utter_response_code"
    assert message["response_meaning"] == "余额不足"


def test_response_code_found_in_text_when_nlu_missed_it() -> None:
    [message] = run(ActionExplainResponseCode(), intent="ask_response_code", text="机器出a0了")
    assert (message["response_code"], message["response_meaning"]) == ("A0", "MAC 校验错误")


def test_unknown_and_missing_codes() -> None:
    [unknown] = run(ActionExplainResponseCode(), intent="ask_response_code", text="返回码Q7")
    assert unknown["response"] == "utter_ask_response_code"
    [odd] = run(ActionExplainResponseCode(), intent="ask_response_code", text="返回码 77")
    assert (odd["response"], odd["response_code"]) == ("utter_response_code_unknown", "77")


def test_meanings_come_from_the_vocabulary_and_cover_the_domain_codes() -> None:
    # The field 39 codes ../shared/DOMAIN.md says are worth explaining.
    domain_codes = {"00", "05", "12", "14", "25", "51", "54", "55", "61", "68", "91", "94", "96"}
    domain_codes |= {"98", "A0"}
    table = vocabulary.response_codes()
    assert domain_codes.issubset(table)
    for code, texts in vocabulary.load()["response_codes"].items():
        assert explain(code) == (texts["meaning"], texts["advice"])
        assert explain(code.lower()) == explain(code)
    assert explain("77") is None
    assert find_code("显示 96 系统故障") == "96"
