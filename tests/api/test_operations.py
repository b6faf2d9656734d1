"""Operations over real HTTP: /healthz, /readyz, /metrics and the chat API's rate limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import Settings
from dropdesk.devrun import free_port, serve_in_thread
from dropdesk.limits import MemoryRateLimiter, RedisRateLimiter, rate_limiter
from dropdesk.main import create_app
from tests.api.factories import MERCHANT_A, MERCHANT_B, row, store
from tests.api.fake_rasa import FakeRasa
from tests.api.handoff_helpers import internal
from tests.api.wechat_helpers import redis_reachable, rig_with_merchants

REDIS = "redis://127.0.0.1:6379/15"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(http: httpx.Client) -> Samples:
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def merchant(settings: Settings, merchant_no: str = MERCHANT_A) -> dict[str, str]:
    token = issue_merchant_token(merchant_no=merchant_no, settings=settings)
    return {"Authorization": f"Bearer {token}"}


def fake_actions() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


@contextmanager
def service(settings: Settings, **overrides: Any) -> Iterator[tuple[httpx.Client, FakeRasa]]:
    """The service on a free port, with a fake Rasa (and /version) and a fake action server."""
    rasa = FakeRasa(token=settings.rasa_token)

    @rasa.app.get("/version")
    def version() -> dict[str, str]:
        return {"version": "3.6.21"}

    failing = {"on": False}

    @rasa.app.middleware("http")
    async def fail(request: Request, call_next: Any) -> Any:
        # As Rasa does when an action failed during the turn (bot/channels.py).
        if failing["on"] and request.url.path.startswith("/webhooks/"):
            return JSONResponse({"error": "action failed"}, status_code=503)
        return await call_next(request)

    rasa.failing = failing  # type: ignore[attr-defined]

    rasa_port, actions_port, port = free_port(), free_port(), free_port()
    with ExitStack() as stack:
        stack.enter_context(serve_in_thread(rasa.app, rasa_port))
        stack.enter_context(serve_in_thread(fake_actions(), actions_port))
        configured = settings.model_copy(update={
            "rasa_url": f"http://127.0.0.1:{rasa_port}", "rasa_timeout_seconds": 1.0,
            "actions_url": f"http://127.0.0.1:{actions_port}", **overrides,
        })  # fmt: skip
        base_url = stack.enter_context(serve_in_thread(create_app(configured), port))
        http = stack.enter_context(httpx.Client(base_url=base_url, timeout=10))
        yield http, rasa


@pytest.fixture
def merchants(db_session: Session) -> None:
    store(db_session, row(), row(merchant_no=MERCHANT_B, terminal_no="T0000002"))


# --- health and readiness ------------------------------------------------------------------------


def test_healthz_answers_without_asking_any_dependency() -> None:
    dead = free_port()
    settings = Settings(
        env="test",
        database_url=f"postgresql+psycopg://nobody@127.0.0.1:{dead}/none",
        rasa_url=f"http://127.0.0.1:{dead}",
        pubsub_url=f"redis://127.0.0.1:{dead}/0",
        actions_url=f"http://127.0.0.1:{dead}",
        sweep_interval_seconds=3600,
    )
    with serve_in_thread(create_app(settings), free_port()) as base_url:
        assert httpx.get(f"{base_url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{base_url}/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["failed"] == ["database", "redis", "rasa", "actions"]


def test_readyz_checks_every_dependency_and_names_the_one_that_failed(
    settings: Settings, merchants: None
) -> None:
    if not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    with service(settings, pubsub_url=REDIS) as (http, _):
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ok" and body["failed"] == []
        assert set(body["checks"]) == {"database", "redis", "rasa", "actions"}
        assert all(check["ok"] for check in body["checks"].values())
    dead = free_port()
    for broken, name in (
        ({"pubsub_url": f"redis://127.0.0.1:{dead}/0"}, "redis"),
        ({"rasa_url": f"http://127.0.0.1:{dead}"}, "rasa"),
        ({"actions_url": f"http://127.0.0.1:{dead}"}, "actions"),
    ):
        with service(settings, **({"pubsub_url": REDIS} | broken)) as (http, _):
            ready = http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "unavailable"
            assert ready.json()["failed"] == [name]
            assert ready.json()["checks"][name]["ok"] is False
            assert http.get("/healthz").status_code == 200  # alive all the same


def test_readyz_without_redis_or_action_server_checks(settings: Settings) -> None:
    with service(settings, pubsub_url="memory://", actions_url="off") as (http, _):
        body = http.get("/readyz").json()
    assert set(body["checks"]) == {"database", "rasa"} and body["status"] == "ok"


# --- metrics -------------------------------------------------------------------------------------


def test_metrics_count_turns_latency_bot_errors_escalations_and_the_queue(
    settings: Settings, merchants: None
) -> None:
    # No retries: the failed turn is an apology at once, counted as a bot error.
    with service(settings, rasa_retry_seconds=0.0) as (http, rasa):
        before = scrape(http)
        assert value(before, "dropdesk_queue_sessions", status="queued") == 0
        headers = merchant(settings)
        sid = http.post("/api/v1/sessions", headers=headers).json()["session_id"]
        assert http.post(f"/api/v1/sessions/{sid}/messages", headers=headers,
                         json={"text": "刷卡显示失败"}).status_code == 200  # fmt: skip
        rasa.failing["on"] = True  # type: ignore[attr-defined]
        assert http.post(f"/api/v1/sessions/{sid}/messages", headers=headers,
                         json={"text": "还在吗"}).status_code == 200  # an apology  # fmt: skip
        rasa.failing["on"] = False  # type: ignore[attr-defined]
        refused = http.post("/internal/v1/sessions/nope/escalations", headers=internal(settings),
                            json={"reason": "merchant_request"})  # fmt: skip
        assert refused.status_code == 404
        escalated = http.post(f"/internal/v1/sessions/{sid}/escalations",
                              headers=internal(settings), json={"reason": "merchant_request"})
        assert escalated.status_code == 200
        after = scrape(http)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("dropdesk_turns_total", outcome="bot") == 2
    assert grew("dropdesk_turn_duration_seconds_count") == 2
    assert grew("dropdesk_turn_duration_seconds_bucket", le="+Inf") == 2
    assert grew("dropdesk_turn_duration_seconds_bucket", le="2.5") == 2
    assert grew("dropdesk_turn_duration_seconds_sum") > 0
    assert grew("dropdesk_bot_request_duration_seconds_count") == 2
    assert grew("dropdesk_bot_errors_total", kind="http_503") == 1
    # Only the escalation that happened is counted (not the 404).
    assert grew("dropdesk_escalations_total", reason="merchant_request") == 1
    assert value(after, "dropdesk_queue_sessions", status="queued") == 1
    assert value(after, "dropdesk_queue_sessions", status="agent") == 0
    assert 0 <= value(after, "dropdesk_queue_oldest_wait_seconds") < 60


def test_metrics_count_wechat_deliveries(settings: Settings, tmp_path: Path,
                                         db_session: Session) -> None:  # fmt: skip
    with rig_with_merchants(settings, tmp_path, db_session) as rig, httpx.Client(
        base_url=rig.base_url
    ) as http:
        before = scrape(http)
        fan = rig.bound(MERCHANT_A)
        reply = fan.text("刷卡显示失败")
        assert reply.text and "heard" in reply.text
        after = scrape(http)
    key = "dropdesk_wechat_deliveries_total"
    # The bind answer and the bot's answer went out in the HTTP replies.
    assert value(after, key, status="passive") - value(before, key, status="passive") == 2


# --- the chat API's rate limit -------------------------------------------------------------------


def test_rate_limit_refuses_a_merchant_over_the_rate_with_429_and_retry_after(
    settings: Settings, merchants: None
) -> None:
    with service(settings, chat_rate_per_minute=60, chat_rate_burst=3) as (http, _):
        headers = merchant(settings)
        sid = http.post("/api/v1/sessions", headers=headers).json()["session_id"]
        said = [http.post(f"/api/v1/sessions/{sid}/messages", headers=headers,
                          json={"text": f"第{n}条"}) for n in range(3)]  # fmt: skip
        assert [r.status_code for r in said] == [200, 200, 429]  # the session was the first
        refused = said[-1]
        assert refused.json()["error"]["code"] == "throttled"
        assert "太快" in refused.json()["error"]["message"]
        assert refused.json()["error"]["message"].endswith("秒后再试。")
        assert refused.headers["Retry-After"] == "1"
        before = scrape(http)
        # Reading is not limited; another merchant is not affected.
        assert http.get(f"/api/v1/sessions/{sid}/messages", headers=headers).status_code == 200
        other = merchant(settings, MERCHANT_B)
        assert http.post("/api/v1/sessions", headers=other).status_code == 201
        # An unauthenticated request is refused as before, and counts for no one.
        assert http.post(f"/api/v1/sessions/{sid}/messages",
                         json={"text": "x"}).status_code == 401  # fmt: skip
        assert http.post(f"/api/v1/sessions/{sid}/messages", headers=headers,
                         json={"text": "再来"}).status_code == 429  # fmt: skip
        assert value(scrape(http), "dropdesk_rate_limited_total") - value(
            before, "dropdesk_rate_limited_total") == 1  # fmt: skip
        time.sleep(1.05)  # one request's worth of the rate comes back each second
        assert http.post(f"/api/v1/sessions/{sid}/messages", headers=headers,
                         json={"text": "等了一秒"}).status_code == 200  # fmt: skip


def test_rate_limit_is_shared_by_replicas_through_redis(settings: Settings,
                                                        merchants: None) -> None:  # fmt: skip
    if not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    import redis

    redis.Redis.from_url(REDIS).delete(f"dropdesk:ratelimit:chat:{MERCHANT_A}")
    limited = {"pubsub_url": REDIS, "chat_rate_per_minute": 6, "chat_rate_burst": 4}
    with service(settings, **limited) as (one, _), service(settings, **limited) as (two, _):
        headers = merchant(settings)
        codes = [(one if n % 2 else two).post("/api/v1/sessions", headers=headers).status_code
                 for n in range(6)]  # fmt: skip
        assert codes == [201, 201, 201, 201, 429, 429]
        retry = two.post("/api/v1/sessions", headers=headers).headers["Retry-After"]
        assert 1 <= int(retry) <= 10  # 6 a minute: one every 10 s


def test_rate_limit_lets_merchants_through_while_redis_is_down() -> None:
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{free_port()}/0", per_minute=1, burst=1)

    async def hits() -> list[float]:
        try:
            return [await limiter.hit("chat:x") for _ in range(3)]
        finally:
            await limiter.close()

    assert asyncio.run(hits()) == [0.0, 0.0, 0.0]


def test_rate_limit_defaults_leave_a_brisk_conversation_alone(
    settings: Settings, merchants: None
) -> None:
    defaults = Settings()
    assert defaults.chat_rate_per_minute == 300 and defaults.chat_rate_burst == 60
    assert rate_limiter(settings.model_copy(update={"chat_rate_per_minute": 0})) is None
    assert isinstance(rate_limiter(settings), MemoryRateLimiter)
    with service(settings) as (http, _):
        headers = merchant(settings)
        sid = http.post("/api/v1/sessions", headers=headers).json()["session_id"]
        codes = {http.post(f"/api/v1/sessions/{sid}/messages", headers=headers,
                           json={"text": f"第{n}条"}).status_code for n in range(40)}  # fmt: skip
    assert codes == {200}
