"""The bot runtime's copy of the contract is exactly what the service exports."""

from __future__ import annotations

import json

from dropdesk import contract
from dropdesk.diagnosis.models import ALWAYS_HUMAN, DropCode
from dropdesk.ticket.models import EscalationReason


def test_checked_in_contract_is_current() -> None:
    for name, body in contract.rendered().items():
        path = contract.CONTRACT_DIR / name
        assert path.exists(), f"{path} missing: run `dropdesk contract export`"
        assert path.read_text(encoding="utf-8") == body, (
            f"{path} is stale: run `.venv/bin/dropdesk contract export` and commit it"
        )


def test_contract_names_every_code_and_reason_once() -> None:
    vocabulary = json.loads((contract.CONTRACT_DIR / "vocabulary.json").read_text("utf-8"))
    assert vocabulary["drop_codes"] == [c.value for c in DropCode]
    assert set(vocabulary["needs_human_codes"]) == {c.value for c in ALWAYS_HUMAN}
    assert vocabulary["escalation_reasons"] == [r.value for r in EscalationReason]
    api = json.loads((contract.CONTRACT_DIR / "internal_api.json").read_text("utf-8"))
    escalate = api["endpoints"]["escalate"]
    reasons = escalate["request"]["$defs"]["EscalationReason"]["enum"]
    assert reasons == vocabulary["escalation_reasons"]
    assert set(escalate["response"]["required"]) >= {"ticket_no", "queue_position", "offline"}
