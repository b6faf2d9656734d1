"""widget.js, the demo portal under a strict CSP, and CORS for embedding origins."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dropdesk import demo
from dropdesk.auth.service import read_merchant_token
from dropdesk.config import Settings
from dropdesk.main import create_app

EMBEDDER = "https://shop.example.com"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    settings = settings.model_copy(update={"allowed_origins": [EMBEDDER]})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_widget_js_is_served_as_script(client: TestClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "attachShadow" in response.text and "adoptedStyleSheets" in response.text


def test_portal_has_a_strict_csp_and_no_inline_script(client: TestClient,
                                                      settings: Settings) -> None:  # fmt: skip
    page = client.get(f"/?m={demo.NOODLES.merchant_no}")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    scripts = re.findall(r"<script[^>]*>", page.text)
    assert scripts and all(" src=" in tag for tag in scripts)
    assert "style=" not in page.text and "<style" not in page.text
    token = re.search(r'src="/widget.js" data-token="([^"]+)"', page.text)
    assert token and read_merchant_token(token=token.group(1), settings=settings) == (
        demo.NOODLES.merchant_no
    )
    assert "小李面馆" in page.text
    assert demo.try_saying(demo.NOODLES.merchant_no)[0].text in page.text
    store_page = client.get("/").text
    for example in demo.try_saying(demo.STORE.merchant_no):
        assert example.text in store_page
    assert client.get("/portal/portal.css").status_code == 200
    assert client.get("/portal/../config.py").status_code == 404


def test_no_portal_in_production(settings: Settings) -> None:
    production = settings.model_copy(update={"env": "production"})
    with TestClient(create_app(production)) as client:
        assert client.get("/").status_code == 404
        assert client.get("/widget.js").status_code == 200


def test_cors_only_for_configured_origins(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
    allowed = client.options("/api/v1/sessions", headers={"Origin": EMBEDDER, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == EMBEDDER
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    evil = {"Origin": "https://evil.example.net", **preflight}
    refused = client.options("/api/v1/sessions", headers=evil)
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    # Even a refusal carries the header, so the widget can read the error.
    unauthenticated = client.post("/api/v1/sessions", headers={"Origin": EMBEDDER})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["access-control-allow-origin"] == EMBEDDER
