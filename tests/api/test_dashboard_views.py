"""The dashboard page, its drill-downs and CSV files over HTTP, for a supervisor and an agent."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from dropdesk.config import Settings
from dropdesk.main import create_app
from dropdesk.ticket.models import Ticket
from tests.api.dashboard_history import PASSWORD, Known, build
from tests.api.test_console import Browser, login

PERIOD = "range=custom&from=2026-11-18&to=2026-11-20"


@pytest.fixture
def app(settings: Settings, db_session: Session) -> Iterator[tuple[TestClient, Known]]:
    known = build(db_session)
    with TestClient(create_app(settings)) as client:
        yield client, known


def signed_in(client: TestClient, name: str) -> Browser:
    browser = Browser(client)
    assert login(browser, name, PASSWORD).status_code == 303
    return browser


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}"><b>([^<]*)</b>', html)
    assert found, name
    return found.group(1)


def rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_a_supervisor_sees_the_team_with_links_and_csv(app: tuple[TestClient, Known]) -> None:
    client, known = app
    boss = signed_in(client, "boss")
    page = boss.get(f"/console/dashboard?{PERIOD}")
    assert page.status_code == 200
    html = page.text
    # Long after the history: the conversation still open then has gone quiet since.
    assert figure(html, "conversations") == "8"
    assert figure(html, "channel-widget") == "4"
    assert figure(html, "resolution") == "50.0%"
    assert figure(html, "outcome-escalated") == "3"
    assert figure(html, "turns-p50") == "2 轮"
    assert figure(html, "no-ref") == "33.3%"
    assert figure(html, "wait-p50") == "4 分钟"
    assert figure(html, "sla-breached") == "2"
    assert figure(html, "rating-average") == "3.50"
    assert "¥320.50" in html and "V2.3.1" in html
    assert '<svg class="chart stacked"' in html and "<script>" not in html  # CSP: no inline script

    drill = boss.get(f"/console/dashboard/conversations?{PERIOD}&code=reversal_failed")
    assert drill.status_code == 200
    assert f'data-session="{known.sids["needs_human"]}"' in drill.text
    assert drill.text.count("data-session=") == 1

    codes = boss.get(f"/console/dashboard/export/codes.csv?{PERIOD}")
    assert codes.headers["content-type"].startswith("text/csv")
    assert "attachment" in codes.headers["content-disposition"]
    assert rows(codes.text)[0][0] == "掉单类型"
    assert ["approved_not_printed", "1", "320.50"] in [r[1:] for r in rows(codes.text)]
    agents = rows(boss.get(f"/console/dashboard/export/agents.csv?{PERIOD}").text)
    assert [r[0] for r in agents[1:]] == ["alice", "bob", "未分配", "合计"]
    listed = rows(boss.get(f"/console/dashboard/export/conversations.csv?{PERIOD}&sla=breached"
                           ).text)  # fmt: skip
    assert {r[0] for r in listed[1:]} == {known.sids["late_night"], known.sids["queued"]}


def test_an_agent_sees_only_their_own_figures(app: tuple[TestClient, Known]) -> None:
    client, known = app
    alice = signed_in(client, "alice")
    html = alice.get(f"/console/dashboard?{PERIOD}").text
    assert 'data-agent="alice"' in html
    assert 'data-agent="bob"' not in html and 'data-agent="未分配"' not in html
    assert 'id="traffic"' not in html and 'id="codes"' not in html
    assert figure(html, "rating-average") == "5.00"
    for table in ("codes", "days", "terminals", "outcomes"):
        assert alice.get(f"/console/dashboard/export/{table}.csv?{PERIOD}").status_code == 403
    # Another agent's conversations stay hidden, whatever the link asks for.
    bob = known.agents["bob"]
    drill = alice.get(f"/console/dashboard/conversations?{PERIOD}&agent={bob}")
    assert "data-session=" not in drill.text
    everything = alice.get(f"/console/dashboard/export/conversations.csv?{PERIOD}&channel=api")
    assert {r[0] for r in rows(everything.text)[1:]} == {known.sids["needs_human"]}
    ratings = rows(alice.get(f"/console/dashboard/export/ratings.csv?{PERIOD}").text)
    assert [r[2] for r in ratings[1:]] == ["alice"]


def test_nobody_signed_in_is_sent_to_the_login(app: tuple[TestClient, Known]) -> None:
    client, _ = app
    page = client.get("/console/dashboard", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/console/login?next=/console/dashboard")
    assert client.get("/console/dashboard/export/codes.csv").status_code == 401


def test_ratings_show_the_merchants_comments_with_links(app: tuple[TestClient, Known],
                                                         db_session: Session) -> None:  # fmt: skip
    client, known = app
    sid = known.sids["needs_human"]
    db_session.execute(update(Ticket).where(Ticket.session_id == sid)
                       .values(rating_comment="<b>补结算</b>很快，谢谢"))  # fmt: skip
    db_session.commit()
    boss = signed_in(client, "boss")
    html = boss.get(f"/console/dashboard?{PERIOD}").text
    assert figure(html, "rating-comments") == "1"
    comments = html.split('data-list="rating-comments"', 1)[1].split("</ul>", 1)[0]
    assert f'<a href="/console/sessions/{sid}">' in comments
    assert "&lt;b&gt;补结算&lt;/b&gt;很快，谢谢" in comments and "<b>补结算" not in html
    listed = boss.get(f"/console/dashboard/conversations?{PERIOD}&comment=any")
    assert listed.text.count("data-session=") == 1 and f'data-session="{sid}"' in listed.text
    ratings = rows(boss.get(f"/console/dashboard/export/ratings.csv?{PERIOD}").text)
    assert ratings[0][4] == "商户留言"
    assert {r[1]: r[4] for r in ratings[1:]} == {sid: "<b>补结算</b>很快，谢谢",
                                                 known.sids["late_night"]: ""}  # fmt: skip
