"""An agent in the console and a merchant in the widget, live, in two real Chromium pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from dropdesk import demo, messages
from dropdesk.agent import service as agent_service
from dropdesk.agent.models import AgentCreate
from dropdesk.database.core import session_scope
from dropdesk.devrun import Stack
from dropdesk.timezone import now_shanghai
from tests.e2e.browser.test_widget import FIRST, portal
from tests.e2e.browser.widget_page import BOT_TIMEOUT_MS, Widget
from tests.e2e.conftest import Chat

pytestmark = [pytest.mark.rasa, pytest.mark.browser]

AGENT, PASSWORD = "console-agent", "console agent password"
DOUBLE_CHARGE = "顾客说同一张卡一小时前被扣了两次199，参考号612300000199"
LIVE_MS = 15_000  # an event through pub/sub and the console's socket, then a fragment fetch


def agent_console(browser: Browser, stack: Stack, problems: list[str]) -> Page:
    """The agent signs in through the login form and lands on the queue."""
    with session_scope(stack.settings.database_url) as db_session:
        if agent_service.get_by_name(db_session=db_session, name=AGENT) is None:
            spec = AgentCreate(name=AGENT, password=PASSWORD)
            agent_service.create(db_session=db_session, spec=spec, now=now_shanghai())
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{stack.base_url}/console")
    expect(page).to_have_url(f"{stack.base_url}/console/login?next=/console")
    page.get_by_label("用户名").fill(AGENT)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{stack.base_url}/console")
    expect(page.get_by_role("heading", name="待处理队列")).to_be_visible()
    expect(page.locator("[data-live-state]")).to_have_text("实时更新中")
    return page


def send(widget: Widget, text: str) -> None:
    """The merchant sends a message that no bot will answer (a person has the session)."""
    widget.input.fill(text)
    widget.input.press("Enter")
    mine = widget.merchant_messages().filter(has_text=text).last
    expect(mine.locator(".status")).to_have_text("已发送", timeout=BOT_TIMEOUT_MS)


def test_an_agent_takes_over_live_and_hands_back(browser: Browser, stack: Stack,
                                                 artifacts: Path) -> None:  # fmt: skip
    with session_scope(stack.settings.database_url) as db_session:
        demo.seed(db_session=db_session, now=now_shanghai())  # "刚才" means now
    problems: list[str] = []  # errors in the console page (CSP included)
    console = agent_console(browser, stack, problems)
    widget = portal(browser, stack)
    widget.open()

    # Another merchant's double charge waits already (high priority: it comes first).
    other = Chat(stack, demo.STORE.merchant_no)
    other.say(DOUBLE_CHARGE)
    assert other.say("转人工")["session"]["status"] == "queued", other.transcript()
    other.http.close()

    # The merchant reports a drop, then asks for a person: the session appears in the open
    # queue page by itself.
    widget.say(FIRST)
    widget.say("转人工")
    sid = widget.session_id(demo.STORE.merchant_no)
    row = console.locator(f'tr[data-session="{sid}"]')
    expect(row, widget.transcript()).to_be_visible(timeout=LIVE_MS)
    expect(row).to_contain_text(demo.STORE.name)
    expect(row).to_contain_text("排队中")
    expect(row).to_contain_text("¥320.50")
    expect(widget.page.locator("#dropdesk-widget .mode")).to_have_text("等待人工客服")
    console.screenshot(path=artifacts / "console-queue.png", full_page=True)

    row.get_by_role("button", name="接入").click()
    expect(console).to_have_url(f"{stack.base_url}/console/sessions/{sid}")
    expect(console.locator(".conv-head .state")).to_have_text(f"人工接待中 · {AGENT}")
    expect(widget.log).to_contain_text(messages.AGENT_JOINED.format(agent=AGENT))
    expect(widget.page.locator("#dropdesk-widget .mode")).to_have_text(f"人工客服 {AGENT}")
    expect(console.locator("#timeline")).to_contain_text("转人工")
    expect(console.locator("#evidence")).to_contain_text("612300000001")  # the diagnosis

    # Both sides chat, each seeing the other without reloading.
    console.get_by_role("button", name="先别重复收款").click()
    reply = console.get_by_label("回复商户")
    expect(reply).to_have_value(messages.CANNED_REPLIES["先别重复收款"])
    reply.fill("您好，我是人工客服，正在核对这笔交易。")
    console.get_by_role("button", name="发送").click()
    from_agent = widget.log.locator(".msg.agent").filter(has_text="正在核对这笔交易")
    expect(from_agent).to_be_visible(timeout=LIVE_MS)
    expect(from_agent.locator(".who")).to_have_text(f"人工客服 {AGENT}")

    send(widget, "好的，参考号是612300000001")
    said = console.locator("#timeline .item.merchant").filter(has_text="参考号是612300000001")
    expect(said).to_be_visible(timeout=LIVE_MS)

    # A private note: the console shows it, set apart; the merchant never gets it.
    console.get_by_label("内部备注").fill("内部：商户情绪着急，优先处理")
    console.get_by_role("button", name="保存备注").click()
    expect(console.locator("#timeline .item.note")).to_contain_text("商户情绪着急")
    console.get_by_label("回复商户").fill("已经查到了，请稍等一下。")
    console.get_by_role("button", name="发送").click()
    expect(widget.log).to_contain_text("已经查到了，请稍等一下。", timeout=LIVE_MS)
    assert "商户情绪着急" not in widget.transcript()
    console.screenshot(path=artifacts / "console-session.png", full_page=True)
    widget.page.screenshot(path=artifacts / "console-widget.png")

    # Back to the bot: it greets, and answers the merchant's next message again.
    console.get_by_role("button", name="交还机器人", exact=True).click()
    expect(console).to_have_url(f"{stack.base_url}/console")
    expect(console.get_by_role("status").filter(has_text="已交还给机器人")).to_be_visible()
    expect(widget.log).to_contain_text(messages.HANDED_BACK, timeout=LIVE_MS)
    expect(widget.page.locator("#dropdesk-widget .mode")).to_have_text("")
    bots = widget.bot_messages().count()
    widget.say(FIRST)
    expect(widget.bot_messages()).not_to_have_count(bots)
    assert "不要" in widget.bot_messages().last.inner_text() or "不要" in widget.transcript()
    assert "商户情绪着急" not in widget.transcript()
    assert not problems, problems
    assert not widget.violations, widget.violations
