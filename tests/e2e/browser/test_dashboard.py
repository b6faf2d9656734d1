"""The supervisor dashboard in a real Chromium: charts with the right numbers, drill-down, CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update

from dropdesk import demo
from dropdesk.config import Settings
from dropdesk.database.core import session_scope
from dropdesk.database.migrate import upgrade
from dropdesk.devrun import free_port, serve_in_thread
from dropdesk.main import create_app
from dropdesk.ticket.models import Ticket
from dropdesk.timezone import now_shanghai
from tests.api.dashboard_history import PASSWORD, Known, build

pytestmark = [pytest.mark.browser]

PERIOD = "range=custom&from=2026-11-18&to=2026-11-20"
COMMENT = "补结算很快，谢谢客服"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def _served(url: str) -> Iterator[str]:
    settings = Settings(env="test", database_url=url, rasa_url="http://127.0.0.1:9")
    with serve_in_thread(create_app(settings), free_port()) as base:
        yield base


@pytest.fixture(scope="module")
def known_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Known]]:
    """The service over the known history of the API tests (every number worked out)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'known.db'}"
    upgrade(url)
    with session_scope(url) as db_session:
        known = build(db_session)
        # What the merchant wrote after rating alice's ticket (tests/api/test_rating_comment.py
        # takes the merchant's way there).
        db_session.execute(update(Ticket).where(Ticket.session_id == known.sids["needs_human"])
                           .values(rating_comment=COMMENT))  # fmt: skip
    for base in _served(url):
        yield base, known


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """The service over the demo store as `make run` seeds it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'demo.db'}"
    upgrade(url)
    with session_scope(url) as db_session:
        demo.seed(db_session=db_session, now=now_shanghai())
        demo.seed_history(db_session=db_session, now=now_shanghai())
    with session_scope(url) as db_session:
        name, password = demo.reset_demo_agent(db_session=db_session, now=now_shanghai())
    for base in _served(url):
        yield base, name, password


def signed_in(browser: Browser, base: str, name: str, password: str = PASSWORD,
              viewport: dict[str, int] = LAPTOP) -> Page:  # fmt: skip
    page = browser.new_context(viewport=viewport, accept_downloads=True).new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/console/dashboard")
    expect(page).to_have_url(f"{base}/console/login?next=/console/dashboard")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/console/dashboard")
    expect(page.get_by_role("heading", name="数据看板")).to_be_visible()
    assert problems == [], problems  # nothing refused by the CSP, no script errors
    return page


def label(page: Page, chart: str, name: str) -> str:
    """The number a chart prints beside (or above) one of its marks."""
    mark = page.locator(f'[data-chart="{chart}"] svg a[data-label="{name}"] text.num')
    expect(mark).to_have_count(1)
    return mark.text_content() or ""


def test_a_supervisor_reads_the_charts_follows_a_figure_and_downloads_csv(
    browser: Browser, known_site: tuple[str, Known], artifacts: Path
) -> None:
    base, known = known_site
    page = signed_in(browser, base, "boss")
    page.goto(f"{base}/console/dashboard?{PERIOD}")
    expect(page.locator('[data-figure="conversations"] b')).to_have_text("8")
    # Conversations per day (stacked by channel): the total above each day's bar.
    assert [label(page, "by-day", d) for d in ("11/18", "11/19", "11/20")] == ["3", "3", "2"]
    assert label(page, "by-hour", "10时") == "2"
    assert label(page, "codes-amount", "冲正失败") == "¥450.00"
    assert label(page, "codes-count", "冲正失败") == "1"
    # The bot's resolution rate per day: 2 of 3, 1 of 3, 1 of 2 conversations that ended.
    assert [label(page, "trend", d) for d in ("11/18", "11/19", "11/20")] == [
        "66.7%", "33.3%", "50.0%"]  # fmt: skip
    assert label(page, "reasons", "商户说没解决") == "1"
    assert label(page, "versions", "V2.3.1") == "3"
    assert label(page, "ratings", "5 分") == "1"
    expect(page.locator('[data-figure="resolution"] b')).to_have_text("50.0%")
    expect(page.locator('[data-agent="alice"]')).to_be_visible()
    page.screenshot(path=artifacts / "dashboard-supervisor.png", full_page=True)

    # A CSV of the drop codes, as the browser downloads it.
    with page.expect_download() as download:
        page.locator("#codes h2 a.csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["掉单类型", "代码", "会话数", "涉及金额(元)"]
    assert ["冲正失败", "reversal_failed", "1", "450.00"] in rows

    # Follow a figure: the reversal that failed is one conversation, and it opens.
    page.locator('[data-chart="codes-count"] svg a[data-label="冲正失败"]').click()
    expect(page).to_have_url(f"{base}/console/dashboard/conversations?{PERIOD}&code=reversal_failed")
    expect(page.locator("[data-count]")).to_have_text("1")
    expect(page.locator(f'tr[data-session="{known.sids["needs_human"]}"]')).to_be_visible()
    page.screenshot(path=artifacts / "dashboard-drilldown.png", full_page=True)
    page.get_by_role("link", name="查看会话").click()
    expect(page).to_have_url(f"{base}/console/sessions/{known.sids['needs_human']}")


def test_the_ratings_show_the_merchants_comment_and_open_its_conversation(
    browser: Browser, known_site: tuple[str, Known], artifacts: Path
) -> None:
    base, known = known_site
    page = signed_in(browser, base, "boss")
    page.goto(f"{base}/console/dashboard?{PERIOD}")
    ratings = page.locator("#ratings")
    expect(ratings.locator('[data-figure="rating-comments"] b')).to_have_text("1")
    comment = ratings.locator('[data-list="rating-comments"] a')
    expect(comment).to_have_count(1)
    expect(comment).to_contain_text(COMMENT)
    expect(comment).to_contain_text("5 分")
    expect(ratings.locator("table").get_by_role("link", name=COMMENT)).to_be_visible()
    ratings.screenshot(path=artifacts / "dashboard-ratings-comment.png")
    with page.expect_download() as download:
        ratings.locator("h2 a.csv").click()
    rows = list(csv.reader(io.StringIO(
        Path(download.value.path()).read_text(encoding="utf-8-sig"))))  # fmt: skip
    assert rows[0][4] == "商户留言" and COMMENT in [r[4] for r in rows[1:]]
    comment.click()
    expect(page).to_have_url(f"{base}/console/sessions/{known.sids['needs_human']}")


def test_an_agent_sees_their_own_figures_only(browser: Browser, known_site: tuple[str, Known],
                                              artifacts: Path) -> None:  # fmt: skip
    base, _ = known_site
    page = signed_in(browser, base, "alice")
    page.goto(f"{base}/console/dashboard?{PERIOD}")
    expect(page.locator('[data-agent="alice"]')).to_be_visible()
    expect(page.locator('[data-agent="bob"]')).to_have_count(0)
    expect(page.locator("#traffic")).to_have_count(0)
    expect(page.locator('[data-figure="rating-average"] b')).to_have_text("5.00")
    refused = page.request.get(f"{base}/console/dashboard/export/codes.csv?{PERIOD}")
    assert refused.status == 403
    page.screenshot(path=artifacts / "dashboard-agent.png", full_page=True)


def test_the_demo_store_has_weeks_to_show_on_a_laptop_and_a_phone(
    browser: Browser, demo_site: tuple[str, str, str], artifacts: Path
) -> None:
    base, name, password = demo_site
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page = signed_in(browser, base, name, password, viewport)
        page.goto(f"{base}/console/dashboard?range=30d")
        total = int(page.locator('[data-figure="conversations"] b').inner_text())
        assert total > 500
        expect(page.locator('[data-chart="by-day"] svg a.total')).not_to_have_count(0)
        # Nothing wider than the screen (the tables scroll inside their cards).
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=artifacts / f"dashboard-demo-{size}.png", full_page=True)
