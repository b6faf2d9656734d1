"""A real Chromium (Debian's, driven by Playwright) against the real stack."""

from __future__ import annotations

import html
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from dropdesk.config import ROOT
from tests.api.fake_rasa import serve
from tests.e2e.shops import ALLOWED_SHOP_PORT, REFUSED_SHOP_PORT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("DROPDESK_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium not found: run `make setup-browser`")
        pytest.skip("chromium not found: run `make setup-browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _shop() -> Starlette:
    """A merchant's own site that embeds the widget with the one tag."""

    async def page(request: Request) -> HTMLResponse:
        src, token = (
            html.escape(request.query_params["src"]),
            html.escape(request.query_params["token"]),
        )
        return HTMLResponse(
            f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>小店</title>'
            f"</head><body><h1>小店官网</h1>"
            f'<script src="{src}" data-token="{token}" defer></script></body></html>'
        )

    return Starlette(routes=[Route("/", page)])


@pytest.fixture(scope="session")
def shops() -> Iterator[tuple[str, str]]:
    """Two shop sites on other origins: the first allowed to embed the widget, the second not."""
    with serve(_shop(), ALLOWED_SHOP_PORT) as allowed, serve(_shop(), REFUSED_SHOP_PORT) as refused:
        yield allowed, refused
