"""Terminal health as the bot and agents see it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk.diagnosis.models import TerminalHealth
from dropdesk.terminal.models import Terminal
from dropdesk.timezone import SHANGHAI


def health(terminal: Terminal) -> TerminalHealth:
    """Render one terminal's health, times in Asia/Shanghai."""
    return TerminalHealth(
        terminal_no=terminal.terminal_no,
        model=terminal.model,
        software_version=terminal.software_version,
        last_online_at=terminal.last_online_at.astimezone(SHANGHAI)
        if terminal.last_online_at
        else None,
        network_type=terminal.network_type,
    )


def health_of_merchant(*, db_session: Session, merchant_id: int) -> list[TerminalHealth]:
    """Health of every terminal a merchant has."""
    terminals = db_session.scalars(
        select(Terminal).where(Terminal.merchant_id == merchant_id).order_by(Terminal.terminal_no)
    )
    return [health(t) for t in terminals]
