"""The widget in Chromium on the demo portal, against the real bot and service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import APIResponse, Browser, Route, WebSocketRoute, expect

from dropdesk import demo
from dropdesk.auth.service import issue_merchant_token
from dropdesk.devrun import Stack
from tests.api.test_attachment import png
from tests.e2e.browser.widget_page import BOT_TIMEOUT_MS, Widget

pytestmark = [pytest.mark.rasa, pytest.mark.browser]

FIRST = "刚才刷了320块5，机器显示超时，顾客说扣钱了，参考号612300000001"
DESKTOP = {"width": 1280, "height": 860}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def portal(browser: Browser, stack: Stack, merchant: demo.DemoMerchant = demo.STORE,
           **context: Any) -> Widget:  # fmt: skip
    page = browser.new_context(**({"viewport": DESKTOP} | context)).new_page()
    widget = Widget(page)
    page.goto(f"{stack.base_url}/?m={merchant.merchant_no}")
    expect(widget.launcher).to_be_visible()
    return widget


def test_a_whole_conversation_survives_a_reload(browser: Browser, stack: Stack,
                                                artifacts: Path) -> None:  # fmt: skip
    widget = portal(browser, stack)
    widget.open()
    expect(widget.input).to_be_focused()
    widget.say(FIRST)
    assert "不要" in widget.transcript(), widget.transcript()  # do not charge again
    quick = widget.page.get_by_role("group", name="快捷回复").get_by_role("button")
    expect(quick.first).to_be_visible(timeout=BOT_TIMEOUT_MS)
    title = quick.first.inner_text()
    before = widget.bot_messages().count()
    quick.first.click()
    expect(widget.merchant_messages().last.locator(".bubble")).to_have_text(title)
    expect(widget.bot_messages()).not_to_have_count(before, timeout=BOT_TIMEOUT_MS)
    widget.page.screenshot(path=artifacts / "widget-desktop.png")
    bots, mine = widget.bot_messages().count(), widget.merchant_messages().count()

    widget.page.reload()
    expect(widget.panel).to_be_visible()  # it stays open across a reload
    expect(widget.bot_messages()).to_have_count(bots)
    expect(widget.merchant_messages()).to_have_count(mine)
    expect(widget.log).to_contain_text(FIRST)
    assert title in widget.transcript()  # the payload shows as the button's title again
    assert not widget.violations, widget.violations


def test_messages_from_elsewhere_arrive_live(browser: Browser, stack: Stack) -> None:
    widget = portal(browser, stack)
    widget.open()
    widget.say("你好")
    widget.page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    token = issue_merchant_token(merchant_no=demo.STORE.merchant_no, settings=stack.settings)
    # The same merchant writes from another device: the page hears it without asking.
    sid = widget.session_id(demo.STORE.merchant_no)
    httpx.post(f"{stack.base_url}/api/v1/sessions/{sid}/messages",
               json={"text": "我在另一台设备上"}, headers={"Authorization": f"Bearer {token}"},
               timeout=60).raise_for_status()  # fmt: skip
    expect(widget.launcher).to_have_attribute("aria-label", re.compile(r"条新消息"))
    widget.launcher.click()
    expect(widget.launcher).to_have_attribute("aria-label", "打开在线客服")
    expect(widget.merchant_messages().filter(has_text="我在另一台设备上")).to_have_count(1)
    expect(widget.merchant_messages()).to_have_count(2)


def test_a_photo_of_the_slip(browser: Browser, stack: Stack, tmp_path: Path) -> None:
    widget = portal(browser, stack)
    widget.open()
    chooser = widget.page.locator("#dropdesk-widget input[type=file]")
    chooser.set_input_files({"name": "slip.png", "mimeType": "image/png", "buffer": png(40, 30)})
    photo = widget.merchant_messages().locator("img.photo")
    expect(photo).to_have_count(1)
    expect(widget.merchant_messages().last.locator(".status")).to_have_text("已发送")
    # A file that only claims to be a PNG is refused by the service, in Chinese.
    chooser.set_input_files({"name": "fake.png", "mimeType": "image/png", "buffer": b"<html>"})
    expect(widget.page.get_by_role("alert")).to_contain_text("JPG、PNG 或 WebP")
    chooser.set_input_files({"name": "a.gif", "mimeType": "image/gif", "buffer": b"GIF89a"})
    expect(widget.page.get_by_role("alert")).to_contain_text("只能发送")

    widget.page.reload()
    restored = widget.merchant_messages().locator("img.photo")
    expect(restored).to_have_count(1)
    widget.page.wait_for_function(
        "() => document.querySelector('#dropdesk-widget').shadowRoot"
        ".querySelector('img.photo').naturalWidth === 40"
    )
    assert not [v for v in widget.violations if "422" not in v], widget.violations


def test_two_merchants_never_see_each_other(browser: Browser, stack: Stack) -> None:
    store = portal(browser, stack, demo.STORE)
    # Same browser profile (shared localStorage), other merchant.
    noodles_page = store.page.context.new_page()
    noodles = Widget(noodles_page)
    noodles_page.goto(f"{stack.base_url}/?m={demo.NOODLES.merchant_no}")
    store.open()
    noodles.open()
    store.say("老王便利店的秘密消息")
    noodles.say("小李面馆的秘密消息")
    store.page.reload()
    expect(store.log).to_contain_text("老王便利店的秘密消息")
    for widget, foreign in ((store, "小李面馆"), (noodles, "老王便利店")):
        assert f"{foreign}的秘密消息" not in widget.transcript()
    assert store.session_id(demo.STORE.merchant_no) != noodles.session_id(demo.NOODLES.merchant_no)


def test_on_a_phone(browser: Browser, stack: Stack, artifacts: Path) -> None:
    widget = portal(browser, stack, **PHONE)
    widget.open()
    box = widget.panel.bounding_box()
    assert box and box["width"] == 390 and box["height"] == 844  # full screen
    expect(widget.launcher).to_be_hidden()
    widget.say(FIRST)
    widget.page.screenshot(path=artifacts / "widget-phone.png")
    widget.page.get_by_role("button", name="关闭客服窗口").tap()
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_be_visible()


def test_keyboard_only(browser: Browser, stack: Stack) -> None:
    widget = portal(browser, stack)
    widget.launcher.focus()
    widget.page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.input).to_be_focused()
    widget.page.keyboard.type("你好")
    widget.page.keyboard.press("Shift+Enter")
    expect(widget.input).to_have_value("你好\n")
    widget.page.keyboard.press("Backspace")
    widget.page.keyboard.press("Enter")
    expect(widget.bot_messages().first).to_be_visible(timeout=BOT_TIMEOUT_MS)
    expect(widget.log).to_have_attribute("aria-live", "polite")
    widget.page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_be_focused()
    # Too long: refused with a clear message, nothing sent.
    widget.page.keyboard.press("Enter")
    widget.input.fill("掉" * 501)
    widget.page.keyboard.press("Enter")
    expect(widget.page.get_by_role("alert")).to_contain_text("消息太长了")
    # The portal's sentences fill the box.
    widget.page.keyboard.press("Escape")
    widget.page.get_by_role("button", name=demo.try_saying(demo.STORE.merchant_no)[1].text).click()
    expect(widget.input).to_have_value(demo.try_saying(demo.STORE.merchant_no)[1].text)


def test_a_dropped_connection_reconnects_and_catches_up(browser: Browser, stack: Stack) -> None:
    widget = portal(browser, stack)
    sockets: list[WebSocketRoute] = []
    refuse = {"on": False}

    def route(ws: WebSocketRoute) -> None:
        if refuse["on"]:
            ws.close(code=4000, reason="test: network down")
            return
        ws.connect_to_server()
        sockets.append(ws)

    widget.page.route_web_socket("**/live", route)
    widget.open()
    widget.say("你好")
    refuse["on"] = True
    sockets[-1].close(code=4000, reason="test: network down")
    status = widget.page.locator("#dropdesk-widget .conn")
    expect(status).to_have_text("连接中断，正在重连…")
    token = issue_merchant_token(merchant_no=demo.STORE.merchant_no, settings=stack.settings)
    sid = widget.session_id(demo.STORE.merchant_no)
    httpx.post(f"{stack.base_url}/api/v1/sessions/{sid}/messages",
               json={"text": "断线期间发的消息"}, headers={"Authorization": f"Bearer {token}"},
               timeout=60).raise_for_status()  # fmt: skip
    refuse["on"] = False
    expect(status).to_have_text("在线", timeout=40_000)
    expect(widget.merchant_messages().filter(has_text="断线期间发的消息")).to_have_count(1)
    assert len(sockets) >= 2


def test_a_failed_send_can_be_retried(browser: Browser, stack: Stack) -> None:
    widget = portal(browser, stack)
    widget.open()
    widget.page.route("**/api/v1/sessions/*/messages", lambda route: route.abort())
    widget.input.fill("网络不好的时候发的")
    widget.input.press("Enter")
    mine = widget.merchant_messages().filter(has_text="网络不好的时候发的")
    expect(mine.locator(".status")).to_have_text("发送失败")
    expect(widget.page.get_by_role("alert")).to_contain_text("网络不太稳定")
    widget.page.unroute("**/api/v1/sessions/*/messages")
    mine.get_by_role("button", name="重试发送这条消息").click()
    expect(mine.locator(".status")).to_have_text("已发送", timeout=BOT_TIMEOUT_MS)
    expect(widget.bot_messages().first).to_be_visible(timeout=BOT_TIMEOUT_MS)
    expect(mine).to_have_count(1)


def test_a_retry_after_a_lost_answer_is_taken_once(browser: Browser, stack: Stack) -> None:
    widget = portal(browser, stack)
    widget.open()
    widget.say("你好")  # the session exists
    bodies: list[Any] = []

    def through(route: Route) -> None:
        if route.request.method == "POST":
            bodies.append(route.request.post_data_json)
        route.continue_()

    def lose_the_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        bodies.append(route.request.post_data_json)
        route.fetch()  # the service takes the message and answers ...
        route.abort()  # ... and the answer is lost on the way back

    widget.page.route("**/api/v1/sessions/*/messages", lose_the_answer)
    widget.input.fill("回复丢了的那条")
    widget.input.press("Enter")
    mine = widget.merchant_messages().filter(has_text="回复丢了的那条")
    expect(mine.get_by_role("button", name="重试发送这条消息")).to_be_visible(
        timeout=BOT_TIMEOUT_MS
    )
    widget.page.unroute("**/api/v1/sessions/*/messages")
    widget.page.route("**/api/v1/sessions/*/messages", through)
    mine.get_by_role("button", name="重试发送这条消息").click()
    expect(mine.locator(".status")).to_have_text("已发送", timeout=BOT_TIMEOUT_MS)
    assert len(bodies) == 2 and bodies[0]["client_message_id"] == bodies[1]["client_message_id"]
    assert bodies[0]["client_message_id"].startswith("w-")
    token = issue_merchant_token(merchant_no=demo.STORE.merchant_no, settings=stack.settings)
    sid = widget.session_id(demo.STORE.merchant_no)
    history = httpx.get(f"{stack.base_url}/api/v1/sessions/{sid}/messages",
                        headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    said = [m for m in history if m["sender"] == "merchant" and m["text"] == "回复丢了的那条"]
    assert len(said) == 1 and said[0]["delivery"] == "delivered"  # stored once, one turn
    expect(mine).to_have_count(1)


def test_the_host_page_css_cannot_reach_it(browser: Browser, stack: Stack) -> None:
    widget = portal(browser, stack, bypass_csp=True)  # to inject a hostile stylesheet
    widget.page.add_style_tag(
        content="button, div, p { background: red !important; font-size: 40px !important;"
        " color: lime !important; border-radius: 0 !important; display: inline !important }"
        " body { font-family: serif !important; line-height: 3 !important }"
    )
    launcher_style = widget.launcher.evaluate(
        "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.fontSize] }"
    )
    assert launcher_style == ["rgb(11, 92, 173)", "16px"]
    widget.open()
    bubble_size = widget.page.locator("#dropdesk-widget .intro").evaluate(
        "e => getComputedStyle(e).fontSize"
    )
    assert bubble_size == "14px"


def test_embedded_on_an_allowed_shop_site_only(browser: Browser, stack: Stack,
                                               shops: tuple[str, str]) -> None:  # fmt: skip
    token = issue_merchant_token(merchant_no=demo.STORE.merchant_no, settings=stack.settings)
    query = urlencode({"src": f"{stack.base_url}/widget.js", "token": token})
    allowed, refused = shops
    shop = Widget(browser.new_context(viewport=DESKTOP).new_page())
    shop.page.goto(f"{allowed}/?{query}")
    shop.open()  # CORS for the API and the WebSocket Origin check both let it in
    shop.say("刚才刷了320块5，参考号612300000001")
    stranger = Widget(browser.new_context(viewport=DESKTOP).new_page())
    stranger.page.goto(f"{refused}/?{query}")
    stranger.launcher.click()
    expect(stranger.page.get_by_role("alert")).to_be_visible()
    expect(stranger.page.locator("#dropdesk-widget .conn")).not_to_have_text("在线")


def test_typing_shows_while_the_bot_thinks(browser: Browser, stack: Stack) -> None:
    widget = portal(browser, stack)
    sockets: list[WebSocketRoute] = []
    held_frames: list[str | bytes] = []
    held_posts: list[tuple[Route, APIResponse]] = []

    def route_ws(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_server(frame: str | bytes) -> None:
            if '"sender":"bot"' in str(frame):
                held_frames.append(frame)  # the bot's answer waits until the test lets it go
            else:
                ws.send(frame)

        server.on_message(from_server)
        sockets.append(ws)

    def route_post(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        held_posts.append((route, route.fetch()))

    widget.page.route_web_socket("**/live", route_ws)
    widget.page.route("**/api/v1/sessions/*/messages", route_post)
    widget.open()
    widget.input.fill("你好")
    widget.input.press("Enter")
    typing = widget.page.get_by_role("status").filter(has_text="正在输入")
    expect(typing).to_be_visible()
    for _ in range(600):
        if held_posts and held_frames:
            break
        widget.page.wait_for_timeout(100)
    expect(typing).to_be_visible()  # the bot has answered, but nothing has reached the page
    route, response = held_posts[0]
    route.fulfill(response=response)
    expect(typing).to_be_hidden()
    for frame in held_frames:
        sockets[-1].send(frame)
    expect(widget.bot_messages().first).to_be_visible()
