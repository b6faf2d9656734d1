"""`dropdesk wechat menu | bind-code | simulate`."""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated

import typer

from dropdesk.config import get_settings
from dropdesk.database.core import session_scope

app = typer.Typer(help="The WeChat official account (公众号).", no_args_is_help=True)


def _need_channel() -> None:
    settings = get_settings()
    if not (settings.wechat_token and settings.wechat_appid and settings.wechat_secret):
        typer.echo("set DROPDESK_WECHAT_TOKEN, DROPDESK_WECHAT_APPID and DROPDESK_WECHAT_SECRET",
                   err=True)  # fmt: skip
        raise typer.Exit(2)


@app.command()
def menu() -> None:
    """Create the account menu: 报告掉单, 查工单进度, 转人工, 绑定商户号."""
    from dropdesk.wechat.client import WeChatAPI, WeChatError
    from dropdesk.wechat.menu import MENU
    from dropdesk.wechat.token import DatabaseTokenStore

    _need_channel()
    settings = get_settings()

    async def create() -> None:
        api = WeChatAPI(base_url=settings.wechat_api_base, appid=settings.wechat_appid,
                        secret=settings.wechat_secret,
                        store=DatabaseTokenStore(settings.database_url, settings.wechat_appid))
        try:
            await api.create_menu(MENU)
        finally:
            await api.close()

    try:
        asyncio.run(create())
    except WeChatError as exc:
        typer.echo(f"WeChat refused the menu: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo("menu created: 报告掉单 · 查工单进度 · 更多（转人工 · 绑定商户号）")


@app.command("bind-code")
def bind_code(merchant_no: str) -> None:
    """Print a one-time code; the merchant sends 「绑定 <code>」 to the account."""
    from dropdesk.errors import NotFoundError
    from dropdesk.wechat import service

    settings = get_settings()
    with session_scope(settings.database_url) as db_session:
        try:
            issued = service.issue_bind_code(
                db_session=db_session, merchant_no=merchant_no, secret_key=settings.secret_key,
                minutes=settings.wechat_bind_code_minutes)  # fmt: skip
        except NotFoundError:
            typer.echo(f"no merchant {merchant_no}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"{issued.code}  (send 「绑定 {issued.code}」; valid until "
               f"{issued.expires_at.astimezone().strftime('%H:%M')})")  # fmt: skip


@app.command()
def simulate(
    encrypted: Annotated[bool, typer.Option("--encrypted", help="Safe mode (AES).")] = False,
    service_url: Annotated[str | None, typer.Option(help="The running service.")] = None,
    api_port: Annotated[int, typer.Option(help="Port of the local WeChat API fake.")] = 8900,
    openid: Annotated[str | None, typer.Option(help="The follower's OpenID.")] = None,
) -> None:
    """A terminal follower of the account, and a local fake of WeChat's API."""
    from dropdesk.wechat.simulator import run_terminal

    _need_channel()
    settings = get_settings()
    if encrypted and not settings.wechat_aes_key:
        typer.echo("--encrypted needs DROPDESK_WECHAT_AES_KEY", err=True)
        raise typer.Exit(2)
    run_terminal(
        service_url=service_url or f"http://{settings.host}:{settings.port}",
        token=settings.wechat_token, appid=settings.wechat_appid, secret=settings.wechat_secret,
        aes_key=settings.wechat_aes_key[0] if settings.wechat_aes_key else None,
        encrypted=encrypted, api_port=api_port, openid=openid or "o" + secrets.token_hex(13),
    )  # fmt: skip
