"""Who may embed the widget (origins) and what our pages may load (CSP)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from dropdesk.config import Settings

# No inline script or style anywhere: widget.js styles its shadow root through CSSOM.
PAGE_CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def install_cors(app: FastAPI, settings: Settings) -> None:
    """Let the configured embedding origins call the chat API from the browser."""
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )


def origin_allowed(*, origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Same origin, a configured origin, or no Origin at all (not a browser: the token decides)."""
    if origin is None:
        return True
    if origin in allowed or "*" in allowed:
        return True
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()
