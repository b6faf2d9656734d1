"""Serve widget.js (embeddable anywhere) and, outside production, the demo merchant portal."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from dropdesk import demo
from dropdesk.auth.service import issue_merchant_token
from dropdesk.deps import SettingsDep
from dropdesk.errors import NotFoundError
from dropdesk.widget.security import PAGE_HEADERS

STATIC = Path(__file__).resolve().parent / "static"
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")

router = APIRouter(tags=["widget"])
portal_router = APIRouter(tags=["demo"], include_in_schema=False)


@router.get("/widget.js", include_in_schema=False)
def widget_js() -> FileResponse:
    """The embeddable widget: one dependency-free script."""
    return FileResponse(
        STATIC / "widget.js",
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


@portal_router.get("/portal/{name}")
def portal_asset(name: str) -> FileResponse:
    """The portal's own stylesheet and script (no inline code under our CSP)."""
    media = {"portal.css": "text/css; charset=utf-8", "portal.js": "text/javascript; charset=utf-8"}
    if name not in media:
        raise NotFoundError("not found")
    return FileResponse(STATIC / name, media_type=media[name], headers=PAGE_HEADERS)


@portal_router.get("/", response_class=HTMLResponse)
def portal(request: Request, settings: SettingsDep, m: str | None = None) -> HTMLResponse:
    """Pick a demo merchant and chat at once, with sentences to try beside the widget."""
    chosen = next((d for d in demo.MERCHANTS if d.merchant_no == m), demo.MERCHANTS[0])
    token = issue_merchant_token(merchant_no=chosen.merchant_no, settings=settings)
    return templates.TemplateResponse(
        request,
        "portal.html",
        {
            "merchants": demo.MERCHANTS,
            "chosen": chosen,
            "token": token,
            "examples": demo.try_saying(chosen.merchant_no),
            "base_url": str(request.base_url).rstrip("/"),
        },
        headers=PAGE_HEADERS,
    )
