"""What the bot runtime may rely on, exported from the service's own models.

`dropdesk contract export` writes actions/contract/: the internal API as JSON Schema and the
vocabulary (drop codes, the codes that need a person, response-code texts, escalation reasons,
ticket statuses). tests/api/test_contract.py fails when the checked-in files differ from what
the service would export, and the bot-runtime tests validate their fake service against them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from dropdesk import messages
from dropdesk.config import ROOT
from dropdesk.conversation.internal_views import (
    SessionDiagnosisQuery,
    TerminalAdvice,
    TicketLookup,
)
from dropdesk.diagnosis.models import ALWAYS_HUMAN, DiagnosisRead, DropCode, NextStep
from dropdesk.slip.models import SlipReading
from dropdesk.ticket.models import (
    EscalationCreate,
    EscalationReason,
    TicketCreated,
    TicketProgress,
    TicketStatus,
)

CONTRACT_DIR = ROOT / "actions" / "contract"
PREFIX = "/internal/v1/sessions/{session_id}"

# name -> (method, path, request body or query model, response type)
ENDPOINTS: dict[str, tuple[str, str, type[BaseModel] | None, Any]] = {
    "diagnose": ("POST", f"{PREFIX}/diagnoses", SessionDiagnosisQuery, DiagnosisRead),
    "escalate": ("POST", f"{PREFIX}/escalations", EscalationCreate, TicketCreated),
    "tickets": ("GET", f"{PREFIX}/tickets", TicketLookup, list[TicketProgress]),
    "terminals": ("GET", f"{PREFIX}/terminals", None, list[TerminalAdvice]),
    "reading": ("GET", f"{PREFIX}/attachments/{{attachment_id}}/reading", None, SlipReading),
}


def internal_api() -> dict[str, Any]:
    """JSON Schema of every internal endpoint's request and answer."""
    endpoints: dict[str, Any] = {}
    for name, (method, path, request, answer) in ENDPOINTS.items():
        endpoints[name] = {
            "method": method,
            "path": path,
            "request": request.model_json_schema(mode="validation") if request else None,
            "response": TypeAdapter(answer).json_schema(mode="serialization"),
            "errors": {
                "401": "internal token missing or wrong",
                "404": "unknown session",
                "422": "request does not match the schema",
            },
        }
    return {"title": "DropDesk internal API (action server -> service)", "endpoints": endpoints}


def vocabulary() -> dict[str, Any]:
    """The words both runtimes must agree on, owned by the service."""
    return {
        "drop_codes": [c.value for c in DropCode],
        "needs_human_codes": sorted(c.value for c in ALWAYS_HUMAN),
        "next_steps": [s.value for s in NextStep],
        "escalation_reasons": [r.value for r in EscalationReason],
        "ticket_statuses": {s.value: messages.TICKET_EVENT_TEXT[s.value] for s in TicketStatus},
        "response_codes": {
            code: {"meaning": text.meaning, "advice": text.advice}
            for code, text in messages.RESPONSE_CODES.items()
        },
    }


def rendered() -> dict[str, str]:
    """File name -> exact file text, as export writes it."""
    return {
        "internal_api.json": json.dumps(internal_api(), ensure_ascii=False, indent=1) + "\n",
        "vocabulary.json": json.dumps(vocabulary(), ensure_ascii=False, indent=1) + "\n",
    }


def export(directory: Path = CONTRACT_DIR) -> list[Path]:
    """Write the contract files; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in rendered().items():
        path = directory / name
        path.write_text(body, encoding="utf-8")
        written.append(path)
    return written
