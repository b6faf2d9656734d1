"""Per-turn latency through the chat API beside the same turns sent straight to Rasa.

Usage: python bench/turn_bench.py MODEL [--train]   (make bench passes the current model)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from dropdesk import demo
from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import ROOT
from dropdesk.devrun import local_stack

CONVERSATIONS = 30
# One unmeasured pass of every script through both paths first: TensorFlow traces its graphs
# once per new input shape, and the first turns of a fresh process pay for that.
WARMUP = 3
SCRIPTS = [
    ["你好", "刚才刷了320块5，机器显示超时，顾客说扣钱了，参考号612300000001", "解决了"],
    ["顾客说被扣了两次钱", "没有单号", "五十分钟前", "199元", "谢谢"],
    ["一清机安全吗", "pos机网络不好怎么办", "退款多久到账"],
]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def percentiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=100)
    return q[49], q[94]


def train_seconds() -> float:
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        # An empty training cache: Rasa would otherwise reuse unchanged components.
        subprocess.run(
            [str(ROOT / ".venv-bot/bin/rasa"), "train", "--config", "bot/config.yml", "--domain",
             "bot/domain.yml", "--data", "data", "--out", out, "--quiet"],
            cwd=ROOT, check=True, capture_output=True,
            env=os.environ | {"RASA_TELEMETRY_ENABLED": "false", "RASA_CACHE_DIRECTORY": cache},
        )  # fmt: skip
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("--train", action="store_true", help="also time a full training")
    args = parser.parse_args()
    if args.train:
        print(f"training: {train_seconds():.0f} s on {os.cpu_count()} cores (target <= 300 s)")
    paths = ("api", "rasa")
    # Kept by script as well: an overall p50 over three kinds of turn can jump between runs when
    # it sits on the boundary between two of them.
    by_script: dict[tuple[str, int], list[float]] = {
        (path, n): [] for path in paths for n in range(len(SCRIPTS))
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        local_stack(Path(tmp), args.model.resolve(), ROOT / ".venv-bot") as stack,
    ):
        token = issue_merchant_token(merchant_no=demo.STORE.merchant_no, settings=stack.settings)
        api = httpx.Client(base_url=stack.base_url, timeout=60,
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        rasa = httpx.Client(base_url=stack.settings.rasa_url, timeout=60)
        for i in range(WARMUP + CONVERSATIONS):
            script = SCRIPTS[i % len(SCRIPTS)]
            # Both paths get a real session, so the actions do the same work for each.
            sessions = {path: api.post("/api/v1/sessions").json()["session_id"]
                        for path in paths}  # fmt: skip
            # Alternate which path goes first, so neither always meets the colder cache.
            order = ["api", "rasa"] if i % 2 == 0 else ["rasa", "api"]
            for text in script:
                for path in order:
                    started = time.perf_counter()
                    if path == "api":
                        api.post(f"/api/v1/sessions/{sessions[path]}/messages",
                                 json={"text": text})  # fmt: skip
                    else:
                        rasa.post("/webhooks/rest/webhook",
                                  json={"sender": sessions[path], "message": text})  # fmt: skip
                    if i >= WARMUP:
                        elapsed = (time.perf_counter() - started) * 1000
                        by_script[path, i % len(SCRIPTS)].append(elapsed)
        memory = {name: rss_mb(pid) for name, pid in stack.pids.items()}
    api_ms, rasa_ms = ([t for (p, _), ts in by_script.items() if p == path for t in ts]
                       for path in paths)  # fmt: skip
    a50, a95 = percentiles(api_ms)
    r50, r95 = percentiles(rasa_ms)
    print(f"turns: {len(api_ms)} through the chat API, {len(rasa_ms)} straight to Rasa REST"
          f" (after {WARMUP} warm-up conversations)")  # fmt: skip
    print(f"  chat API    p50 {a50:6.1f} ms  p95 {a95:6.1f} ms  (targets 80 / 200 ms)")
    print(f"  Rasa REST   p50 {r50:6.1f} ms  p95 {r95:6.1f} ms")
    print(f"  ratio       p50 {a50 / r50:6.2f}x  p95 {a95 / r95:6.2f}x")
    for n, script in enumerate(SCRIPTS):
        api50, rasa50 = (statistics.median(by_script[path, n]) for path in paths)
        print(f"  p50 by script {n + 1} ({script[0][:8]}…): chat API {api50:6.1f} ms, "
              f"Rasa REST {rasa50:6.1f} ms, service share {api50 - rasa50:5.1f} ms")  # fmt: skip
    print("resident memory: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in memory.items()))


if __name__ == "__main__":
    sys.exit(main())
