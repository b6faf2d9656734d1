"""Validate the action server's answers once-compiled, not re-checked on every call.

Rasa 3.6 checks every custom action's response with `jsonschema.validate(result, schema)`.
That call first validates Rasa's (constant) response schema against the JSON Schema
meta-schema, every time: about 13 ms per custom action on our 2-core machines, measured with
py-spy at 23% of the Rasa process's time on a form turn (bench/turn_bench.py). Here the schema
is checked once and its validator reused; answers are judged exactly as before (same schema,
same best-match error, same message).

Validating every event against the 23 event schemas of the schema's `oneOf` was still about a
tenth of a form turn's prediction time (py-spy, load bench). An event is valid exactly when it
matches the one schema whose `event` constant it names (the others name other constants), so
answers are first checked that way; only an answer that fails there goes through the full
schema, for Rasa's own error.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

import rasa
from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

# The Rasa release whose RemoteAction this replaces a private method of, read line by line.
WRITTEN_FOR = "3.6.21"


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _by_event() -> tuple[Any, Any, dict[str, Any]]:
    """The answer without its events' items, the items' common part, and each event type's own
    schema (the branch of `oneOf` whose `event` constant names it)."""
    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    cls = validators.validator_for(schema)
    items = schema["properties"]["events"]["items"]
    branches = items.pop("oneOf")
    schema["properties"]["events"]["items"] = {}
    by_type = {branch["properties"]["event"]["const"]: cls(branch) for branch in branches}
    return cls(schema), cls(items), by_type


def _valid_by_event(result: dict[str, Any]) -> bool:
    answer, common, by_type = _by_event()
    if not answer.is_valid(result):
        return False
    for event in result.get("events") or []:
        name = event.get("event") if isinstance(event, dict) else None
        own = by_type.get(name) if isinstance(name, str) else None
        if own is None or not common.is_valid(event) or not own.is_valid(event):
            return False
    return True


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """Drop-in for RemoteAction._validate_action_result."""
    if _valid_by_event(result):
        return True
    error: ValidationError | None = best_match(_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Use the compiled validator in this process (called by bot.server before Rasa starts)."""
    installed = getattr(rasa, "__version__", "unknown")
    if installed != WRITTEN_FOR:
        # A private method of another release may check differently, or not be called at all.
        raise RuntimeError(
            f"bot/remote_actions.py patches RemoteAction._validate_action_result of rasa "
            f"{WRITTEN_FOR}, but rasa {installed} is installed: compare that method with "
            f"validate_action_result, then update WRITTEN_FOR (or drop the patch)."
        )
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
