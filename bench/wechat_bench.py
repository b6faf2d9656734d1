"""WeChat passive-reply time beside the widget's turn time, and the async share of a slow bot.

Both paths run against one stack (real model, real action server, real service) in the same
run, interleaved turn by turn. WeChat's side is the loopback fake (real signatures); a
delaying proxy in front of Rasa makes the bot take 6 s for the second part.

Usage: python bench/wechat_bench.py MODEL   (make bench passes the current model)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from dropdesk import demo
from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import ROOT
from dropdesk.database.core import session_scope
from dropdesk.devrun import free_port, local_stack, serve_in_thread
from dropdesk.wechat import service as wechat_service
from dropdesk.wechat.simulator import DelayingProxy, FakeWeChat, FollowerClient

ROUNDS = 15
WARMUP = 2
SLOW_FOLLOWERS = 10
SLOW_SECONDS = 6.0
TOKEN, APPID, SECRET = "bench-wechat-token", "wxbench00000000001", "bench-wechat-secret"
SCRIPT = ["你好", "刚才刷了320块5，机器显示超时，顾客说扣钱了，参考号612300000001", "解决了"]


def pct(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=100)
    return q[49], q[94]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    args = parser.parse_args()
    if not args.model.exists():
        sys.exit(f"model not found: {args.model}")
    wechat, proxy = FakeWeChat(appid=APPID, secret=SECRET), DelayingProxy()
    proxy_port = free_port()
    with (tempfile.TemporaryDirectory() as workdir,
          serve_in_thread(wechat.app, free_port()) as api,
          serve_in_thread(proxy.app, proxy_port)):  # fmt: skip
        extra = {"DROPDESK_WECHAT_TOKEN": TOKEN, "DROPDESK_WECHAT_APPID": APPID,
                 "DROPDESK_WECHAT_SECRET": SECRET, "DROPDESK_WECHAT_API_BASE": api,
                 "DROPDESK_RASA_URL": f"http://127.0.0.1:{proxy_port}"}  # fmt: skip
        with local_stack(Path(workdir), args.model.resolve(), ROOT / ".venv-bot",
                         extra_env=extra) as stack:  # fmt: skip
            proxy.target = stack.settings.rasa_url
            merchant = demo.STORE.merchant_no

            def follower() -> FollowerClient:
                with session_scope(stack.settings.database_url) as db:
                    code = wechat_service.issue_bind_code(
                        db_session=db, merchant_no=merchant,
                        secret_key=stack.settings.secret_key, minutes=10).code  # fmt: skip
                fan = FollowerClient(base_url=stack.base_url, token=TOKEN, appid=APPID,
                                     openid=f"o-bench-{time.monotonic_ns()}", timeout=60)
                fan.text(f"绑定 {code}")
                return fan

            token = issue_merchant_token(merchant_no=merchant, settings=stack.settings)
            widget_ms: list[float] = []
            passive_ms: list[float] = []
            went_async = 0
            with httpx.Client(base_url=stack.base_url, timeout=60,
                              headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
                for round_no in range(WARMUP + ROUNDS):
                    sid = http.post("/api/v1/sessions", json={"channel": "widget"}).json()[
                        "session_id"]
                    fan = follower()
                    for text in SCRIPT:
                        began = time.perf_counter()
                        http.post(f"/api/v1/sessions/{sid}/messages",
                                  json={"text": text}).raise_for_status()  # fmt: skip
                        widget = (time.perf_counter() - began) * 1000
                        began = time.perf_counter()
                        reply = fan.text(text)
                        passive = (time.perf_counter() - began) * 1000
                        if round_no < WARMUP:
                            continue
                        widget_ms.append(widget)
                        passive_ms.append(passive)
                        went_async += reply.text is None
                    fan.close()

            # The bot takes 6 s: every answer should leave by customer-service API, once.
            proxy.delay = SLOW_SECONDS
            fans = [follower() for _ in range(SLOW_FOLLOWERS)]
            sent_before = len(wechat.sent)
            answers: list[bytes] = []

            def ask(fan: FollowerClient) -> None:
                msg_id = fan.next_msg_id()
                answers.append(fan.text("你好", msg_id).body)
                answers.append(fan.text("你好", msg_id).body)  # WeChat's retry after 5 s

            threads = [threading.Thread(target=ask, args=(f,)) for f in fans]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            deadline = time.monotonic() + 30
            while len(wechat.sent) - sent_before < SLOW_FOLLOWERS and time.monotonic() < deadline:
                time.sleep(0.05)
            delivered_s = time.perf_counter() - began
            time.sleep(2)
            delivered = len(wechat.sent) - sent_before
            slow_async = sum(1 for body in answers if body == b"success")

    w50, w95 = pct(widget_ms)
    p50, p95 = pct(passive_ms)
    print(f"turns: {len(widget_ms)} per path, script {SCRIPT}")
    print(f"widget turn (chat API)     p50 {w50:7.0f} ms   p95 {w95:7.0f} ms")
    print(f"wechat passive reply       p50 {p50:7.0f} ms   p95 {p95:7.0f} ms")
    print(f"wechat replies async at normal speed: {went_async}/{len(passive_ms)}")
    print(f"bot at {SLOW_SECONDS:.0f} s: {slow_async}/{len(answers)} pushes answered 'success' "
          f"(first tries and retries), {delivered} customer-service messages for "
          f"{SLOW_FOLLOWERS} questions ({100 * slow_async / len(answers):.0f}% async), "
          f"all delivered {delivered_s:.1f} s after the first push")


if __name__ == "__main__":
    main()
