"""Drive the widget on the demo portal the way a merchant would."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

BOT_TIMEOUT_MS = 60_000


class Widget:
    """The widget inside one page; every locator pierces its shadow root."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.violations: list[str] = []
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            self.violations.append(message.text)

    @property
    def launcher(self) -> Locator:
        return self.page.locator("#dropdesk-widget .launch")

    @property
    def panel(self) -> Locator:
        return self.page.get_by_role("dialog", name="掉单助手")

    @property
    def input(self) -> Locator:
        return self.page.get_by_label("输入消息")

    @property
    def log(self) -> Locator:
        return self.page.get_by_role("log", name="聊天记录")

    def bot_messages(self) -> Locator:
        return self.log.locator(".msg.bot")

    def merchant_messages(self) -> Locator:
        return self.log.locator(".msg.merchant")

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()
        expect(self.page.locator("#dropdesk-widget .conn")).to_have_text("在线")

    def say(self, text: str) -> None:
        """Send a message and wait until the bot has answered it."""
        before = self.bot_messages().count()
        self.input.fill(text)
        self.input.press("Enter")
        mine = self.merchant_messages().filter(has_text=text).last
        expect(mine.locator(".status")).to_have_text("已发送", timeout=BOT_TIMEOUT_MS)
        expect(self.bot_messages()).not_to_have_count(before, timeout=BOT_TIMEOUT_MS)
        expect(self.page.locator("#dropdesk-widget .typing")).to_be_hidden(timeout=BOT_TIMEOUT_MS)

    def transcript(self) -> str:
        return self.log.inner_text()

    def session_id(self, merchant_no: str) -> str:
        """The session the widget keeps for a merchant in this browser profile."""
        key = f"dropdesk:v1:session:{merchant_no}"
        return str(self.page.evaluate("key => localStorage.getItem(key)", key))
