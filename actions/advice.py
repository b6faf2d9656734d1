"""Playbook answers that depend on the merchant's data: software versions, response codes."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.response_codes import explain, find_code
from actions.service_client import ServiceError, get_service

logger = logging.getLogger(__name__)
MAX_TERMINALS = 3


def _version_key(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.replace("v", "").replace("V", "").split(".") if p.isdigit()]
    return tuple(parts)


def is_outdated(terminal: dict[str, Any]) -> bool:
    """Tell whether a terminal runs older software than the latest release."""
    current, latest = terminal.get("software_version"), terminal.get("latest_software_version")
    if not current or not latest or current == latest:
        return False
    try:
        return _version_key(str(current)) < _version_key(str(latest))
    except ValueError:
        return True


class ActionSoftwareAdvice(Action):
    """Name each terminal's software version and say whether to upgrade."""

    def name(self) -> str:
        return "action_software_advice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            terminals = await get_service().terminals(tracker.sender_id)
        except ServiceError as exc:
            logger.warning("terminal lookup failed: %s", exc)
            terminals = []
        known = [t for t in terminals if t.get("software_version")][:MAX_TERMINALS]
        if not known:
            dispatcher.utter_message(response="utter_software_generic")
            return []
        for terminal in known:
            dispatcher.utter_message(
                response="utter_software_outdated" if is_outdated(terminal)
                else "utter_software_up_to_date",
                terminal_no=terminal.get("terminal_no") or "—",
                model=terminal.get("model") or "POS 机",
                software_version=terminal["software_version"],
                latest_software_version=terminal.get("latest_software_version") or "—",
            )  # fmt: skip
        return []


class ActionExplainResponseCode(Action):
    """Explain the response code the merchant quoted."""

    def name(self) -> str:
        return "action_explain_response_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code = next(tracker.get_latest_entity_values("response_code"), None)
        code = (code or find_code(str(tracker.latest_message.get("text") or "")) or "").upper()
        if not code:
            dispatcher.utter_message(response="utter_ask_response_code")
            return []
        known = explain(code)
        if known is None:
            dispatcher.utter_message(response="utter_response_code_unknown", response_code=code)
        else:
            dispatcher.utter_message(
                response="utter_response_code",
                response_code=code,
                response_meaning=known.meaning,
                response_advice=known.advice,
            )
        return []
