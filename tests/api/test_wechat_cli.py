"""`dropdesk wechat menu | bind-code | simulate` against the fake WeChat and a live service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dropdesk.cli import app
from dropdesk.config import Settings, get_settings
from dropdesk.devrun import free_port, serve_in_thread
from dropdesk.wechat.menu import MENU
from dropdesk.wechat.simulator import FakeWeChat, run_terminal
from tests.api.factories import MERCHANT_A, row, store
from tests.api.wechat_helpers import SECRET, TOKEN, wechat_rig

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str,
        db_session: Session) -> Iterator[FakeWeChat]:  # fmt: skip
    store(db_session, row())
    fake = FakeWeChat(appid="wx0000000000000cli", secret=SECRET)
    with serve_in_thread(fake.app, free_port()) as api:
        for name, value in {"DATABASE_URL": database_url, "WECHAT_TOKEN": TOKEN,
                            "WECHAT_APPID": fake.appid, "WECHAT_SECRET": SECRET,
                            "WECHAT_API_BASE": api}.items():  # fmt: skip
            monkeypatch.setenv(f"DROPDESK_{name}", value)
        get_settings.cache_clear()
        yield fake
    get_settings.cache_clear()


def test_menu_creates_the_four_entries(env: FakeWeChat) -> None:
    result = runner.invoke(app, ["wechat", "menu"])
    assert result.exit_code == 0, result.output
    assert env.menu == MENU
    more = MENU["button"][2]["sub_button"]
    names = [b["name"] for b in MENU["button"]] + [s["name"] for s in more]
    assert {"报告掉单", "查工单进度", "转人工", "绑定商户号"} <= set(names)
    env.reject_all = True  # WeChat refuses every token: a clear error, no traceback
    refused = runner.invoke(app, ["wechat", "menu"])
    assert refused.exit_code == 1 and "WeChat refused the menu: 40001" in refused.output


def test_bind_code_prints_a_code_for_a_known_merchant_only(env: FakeWeChat) -> None:
    result = runner.invoke(app, ["wechat", "bind-code", MERCHANT_A])
    assert result.exit_code == 0 and result.output[:6].isdigit()
    unknown = runner.invoke(app, ["wechat", "bind-code", "999999999999999"])
    assert unknown.exit_code == 1 and "no merchant" in unknown.output


def test_the_terminal_follower_sees_passive_and_late_answers(
    settings: Settings, tmp_path: Path, db_session: Session
) -> None:
    store(db_session, row())
    api_port = free_port()
    with wechat_rig(settings, tmp_path, wechat_api_base=f"http://127.0.0.1:{api_port}") as rig:
        code = rig.bind_code(MERCHANT_A)
        shown: list[str] = []
        script = iter(["/subscribe", f"绑定 {code}", "刷卡失败", "/quit"])

        def lines() -> str:
            line = next(script)
            if line == "刷卡失败":
                rig.rasa.delay = 6.0  # the answer comes after WeChat's deadline
            if line == "/quit":
                deadline = time.monotonic() + 15
                while not any("客服消息" in s for s in shown) and time.monotonic() < deadline:
                    time.sleep(0.1)
            return line

        run_terminal(service_url=rig.base_url, token=TOKEN, appid=rig.settings.wechat_appid,
                     secret=SECRET, aes_key=rig.keys[0], encrypted=True, api_port=api_port,
                     openid="o-simulated", lines=lines, echo=shown.append)  # fmt: skip
    said = "\n".join(shown)
    assert "欢迎" in said and "绑定成功" in said
    assert "公众号（客服消息）> heard: 刷卡失败 [解决了]" in said
