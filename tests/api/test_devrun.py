"""devrun.warm_up: the throwaway turns that spare the first merchant Rasa's graph tracing."""

from __future__ import annotations

import json

import httpx
import pytest

from dropdesk import devrun


def test_warm_up_parses_and_holds_one_throwaway_conversation() -> None:
    seen: list[tuple[str, dict[str, str]]] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, json=[] if "webhook" in request.url.path else {"intent": {}})

    elapsed = devrun.warm_up("http://rasa", httpx.Client(transport=httpx.MockTransport(rasa)))

    assert elapsed >= 0
    assert [path for path, _ in seen] == ["/model/parse"] * 3 + ["/webhooks/rest/webhook"]
    assert [body["text"] for _, body in seen[:3]] == list(devrun.WARM_UP_TEXTS)
    sender = seen[3][1]["sender"]
    assert sender.startswith("dropdesk-warm-up-")  # never a merchant's session id


def test_warm_up_reports_a_rasa_that_refuses() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(503)))
    with pytest.raises(httpx.HTTPStatusError):
        devrun.warm_up("http://rasa", client)
