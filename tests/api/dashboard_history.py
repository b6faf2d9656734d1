"""A known history for the dashboard tests: nine conversations whose every figure is worked out.

The period is 2026-11-18 .. 2026-11-20 (Asia/Shanghai), "now" 2026-11-20 15:00.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk.agent import service as agent_service
from dropdesk.agent.models import Agent, AgentCreate, AgentRole
from dropdesk.dashboard.history import Handling, Story, write
from dropdesk.merchant.models import Merchant
from dropdesk.terminal.models import Terminal
from tests.api.factories import MERCHANT_A, row, shanghai, store

NOW = shanghai(2026, 11, 20, 15, 0)
FIRST, LAST = dt.date(2026, 11, 18), dt.date(2026, 11, 20)
MIN = dt.timedelta(minutes=1)
PASSWORD = "dashboard password"


@dataclass(frozen=True)
class Known:
    sids: dict[str, str]  # story name -> session id
    agents: dict[str, int]  # name -> agent id


def build(db_session: Session) -> Known:
    store(db_session, row(), row(terminal_no="T0000002"))
    merchant = db_session.scalar(select(Merchant.id).where(Merchant.merchant_no == MERCHANT_A))
    assert merchant is not None
    for terminal in db_session.scalars(select(Terminal).where(Terminal.merchant_id == merchant)):
        terminal.software_version = {"T0000001": "V2.3.1", "T0000002": "V3.0.2"}[
            terminal.terminal_no
        ]
    agents = {}
    for name, role in (("alice", AgentRole.AGENT), ("bob", AgentRole.AGENT),
                       ("boss", AgentRole.SUPERVISOR)):  # fmt: skip
        spec = AgentCreate(name=name, role=role, password=PASSWORD)
        agents[name] = agent_service.create(db_session=db_session, spec=spec, now=NOW).id
    alice, bob = agents["alice"], agents["bob"]

    def story(channel: str, start: dt.datetime, **kw: object) -> Story:
        return Story(merchant_id=merchant, channel=channel, start=start, **kw)  # type: ignore[arg-type]

    stories = {
        # The day's first second (included) and the previous day's last (excluded).
        "midnight": story("api", shanghai(2026, 11, 18, 0, 0), turns_before_diagnosis=1),
        "before": story("widget", shanghai(2026, 11, 17, 23, 59, 59)),
        "solved": story("widget", shanghai(2026, 11, 18, 10, 5), code="approved_not_printed",
                        amount=Decimal("320.50"), terminal_no="T0000001",
                        order_ref="612300000001", solved=True),
        "silent": story("widget", shanghai(2026, 11, 18, 10, 40), turns_before_diagnosis=3,
                        code="settled", amount=Decimal("560.00"), terminal_no="T0000001"),
        "needs_human": story("wechat", shanghai(2026, 11, 19, 9, 10), turns_before_diagnosis=1,
                             code="reversal_failed", amount=Decimal("450.00"),
                             terminal_no="T0000001", order_ref="612300000450",
                             escalation="needs_human",
                             handling=Handling(alice, 4 * MIN, 2 * MIN, 20 * MIN, rating=5,
                                               note="已联系收单行补结算")),
        "reversed": story("widget", shanghai(2026, 11, 19, 12, 0), code="reversed",
                          amount=Decimal("256.00"), terminal_no="T0000002",
                          order_ref="612300000098"),
        "late_night": story("api", shanghai(2026, 11, 19, 23, 30), turns_before_diagnosis=1,
                            escalation="merchant_request",
                            handling=Handling(bob, 12 * MIN, 15 * MIN, 30 * MIN, rating=2)),
        "queued": story("wechat", shanghai(2026, 11, 20, 8, 0), turns_before_diagnosis=4,
                        code="duplicate_charge", amount=Decimal("199.00"),
                        terminal_no="T0000001", escalation="not_solved"),
        "open": story("widget", shanghai(2026, 11, 20, 14, 50), code="declined",
                      amount=Decimal("88.00"), terminal_no="T0000001", order_ref="612300000051"),
    }  # fmt: skip
    sids = write(db_session=db_session, stories=list(stories.values()))
    db_session.commit()
    return Known(sids=dict(zip(stories, sids, strict=True)), agents=agents)


def agent(db_session: Session, name: str) -> Agent:
    found = agent_service.get_by_name(db_session=db_session, name=name)
    assert found is not None
    return found
