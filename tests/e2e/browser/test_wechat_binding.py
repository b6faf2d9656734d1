"""「绑定微信」 in the widget, in Chromium: the code it shows binds a follower over /wechat.

The shared stack runs with the WeChat channel off (so every other widget test sees the widget
as before). For the channel on, a second service process-in-a-thread serves the same database,
secret and Rasa with the WeChat settings, WeChat's API faked on loopback; the follower's
message reaches its real /wechat endpoint signed the way WeChat signs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from dropdesk import demo
from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import Settings
from dropdesk.database.core import session_scope
from dropdesk.devrun import Stack, free_port, serve_in_thread
from dropdesk.main import create_app
from dropdesk.merchant.models import Merchant
from dropdesk.wechat.models import Follower
from dropdesk.wechat.service import MAX_CODES_ISSUED
from dropdesk.wechat.simulator import FakeWeChat, FollowerClient
from tests.api.wechat_helpers import SECRET, TOKEN
from tests.e2e.browser.widget_page import Widget

pytestmark = [pytest.mark.rasa, pytest.mark.browser]

APPID = "wxbrowser00000001"
DESKTOP = {"width": 1280, "height": 860}


class WeChatSite:
    def __init__(self, base_url: str, settings: Settings) -> None:
        self.base_url, self.settings = base_url, settings

    def follower(self, openid: str) -> FollowerClient:
        return FollowerClient(base_url=self.base_url, token=TOKEN, appid=APPID, openid=openid,
                              timeout=60)  # fmt: skip


@pytest.fixture(scope="module")
def wechat_site(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeChatSite]:
    """The service with the WeChat channel on, over the stack's database and bot."""
    fake = FakeWeChat(appid=APPID, secret=SECRET)
    with serve_in_thread(fake.app, free_port()) as api:
        settings = stack.settings.model_copy(update={
            "wechat_token": TOKEN, "wechat_appid": APPID, "wechat_secret": SECRET,
            "wechat_aes_key": [], "wechat_api_base": api,
            "upload_dir": tmp_path_factory.mktemp("wechat-uploads"),
        })  # fmt: skip
        with serve_in_thread(create_app(settings), free_port()) as base_url:
            yield WeChatSite(base_url, settings)


def open_widget(browser: Browser, base_url: str, merchant: demo.DemoMerchant) -> Widget:
    widget = Widget(browser.new_context(viewport=DESKTOP).new_page())
    widget.page.goto(f"{base_url}/?m={merchant.merchant_no}")
    widget.open()  # "在线": the live channel's ready frame, with its features, has arrived
    return widget


def test_the_widget_gives_a_code_that_binds_a_follower(browser: Browser, wechat_site: WeChatSite,
                                                       artifacts: Path) -> None:  # fmt: skip
    widget = open_widget(browser, wechat_site.base_url, demo.STORE)
    page = widget.page
    page.get_by_role("button", name="绑定微信").click()
    box = page.get_by_role("region", name="微信绑定码")
    expect(box).to_be_visible()
    code = box.locator(".code").inner_text().strip()
    assert re.fullmatch(r"\d{6}", code), code
    how = box.locator(".how").inner_text()
    assert re.fullmatch(rf"在公众号里发送“绑定 {code}”，10 分钟内有效（\d\d:\d\d 前）。", how), how
    page.screenshot(path=artifacts / "widget-wechat-bind.png")
    page.set_viewport_size({"width": 390, "height": 844})  # the header still fits on a phone
    expect(page.get_by_role("button", name="关闭客服窗口")).to_be_in_viewport()
    page.screenshot(path=artifacts / "widget-wechat-bind-phone.png")
    page.set_viewport_size(DESKTOP)
    assert not widget.violations, widget.violations

    fan = wechat_site.follower(f"o-browser-{code}")
    reply = fan.text(f"绑定 {code}").text or ""
    assert "绑定成功" in reply and demo.STORE.name in reply, reply
    with session_scope(wechat_site.settings.database_url) as db:
        bound = db.get_one(Follower, fan.openid).merchant_id
        assert db.get_one(Merchant, bound).merchant_no == demo.STORE.merchant_no
    again = wechat_site.follower(f"o-browser-{code}-2").text(f"绑定 {code}").text or ""
    assert "用过" in again, again  # single use

    box.get_by_role("button", name="收起绑定码").click()
    expect(box).to_be_hidden()
    page.context.close()


def test_too_many_codes_get_a_clear_message(browser: Browser, wechat_site: WeChatSite) -> None:
    token = issue_merchant_token(merchant_no=demo.NOODLES.merchant_no,
                                 settings=wechat_site.settings)  # fmt: skip
    for _ in range(MAX_CODES_ISSUED):
        httpx.post(f"{wechat_site.base_url}/api/v1/wechat/bind-codes",
                   headers={"Authorization": f"Bearer {token}"}).raise_for_status()  # fmt: skip
    widget = open_widget(browser, wechat_site.base_url, demo.NOODLES)
    widget.page.get_by_role("button", name="绑定微信").click()
    expect(widget.page.get_by_role("alert")).to_have_text("获取绑定码太频繁了，请过几分钟再试。")
    expect(widget.page.get_by_role("region", name="微信绑定码")).to_be_hidden()
    widget.page.context.close()


def test_with_wechat_off_there_is_no_binding_control(browser: Browser, stack: Stack) -> None:
    widget = open_widget(browser, stack.base_url, demo.STORE)
    expect(widget.page.locator("#dropdesk-widget .wx")).to_be_hidden()
    expect(widget.page.get_by_role("button", name="绑定微信")).to_have_count(0)
    assert httpx.post(f"{stack.base_url}/api/v1/wechat/bind-codes").status_code == 404
    assert not widget.violations, widget.violations
    widget.page.context.close()
