"""`dropdesk run` restarts a process that dies, with backoff, and says so."""

from __future__ import annotations

import os
import re
import signal
import sys
from functools import partial
from pathlib import Path

import httpx
import pytest

from dropdesk import devrun
from tests.api.test_devrun import (
    _descendants,
    _processes,
    _wait_for,
    kill_leftovers,
    start_run_with_fake_bots,
)


def _says(out: Path, text: str, times: int) -> bool:
    return out.read_text().count(text) == times


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_process_that_keeps_dying_is_restarted_with_doubling_delays(tmp_path: Path) -> None:
    dies = devrun.Process(
        "flaky", [sys.executable, "-c", "import sys; sys.exit(3)"], "http://127.0.0.1:1/none"
    )
    said: list[str] = []
    clock = Clock()
    running = devrun.start([dies], tmp_path, dict(os.environ))
    supervisor = devrun.Supervisor(
        [dies], running, tmp_path, dict(os.environ), say=said.append, max_delay=8, clock=clock
    )
    delays = []
    for _ in range(6):
        running[0].wait(timeout=10)
        supervisor.poll()  # notices the death
        wait = supervisor.due["flaky"] - clock.now
        delays.append(wait)
        clock.now += wait - 0.01
        supervisor.poll()  # not yet
        assert "flaky" in supervisor.due
        clock.now += 0.01
        first = running[0]
        supervisor.poll()  # due now: started again
        assert running[0] is not first and "flaky" not in supervisor.due
    assert delays == [1, 2, 4, 8, 8, 8]  # doubling, capped at max_delay
    assert said[0] == (
        f"  flaky stopped (exit code 3); restarting it in 1 s (see {tmp_path}/flaky.log)"
    )
    assert re.fullmatch(r"  flaky restarted \(pid \d+\)", said[1]), said
    assert sum("restarted" in line for line in said) == 6
    # One that then stays up a while starts from the first delay again.
    running[0].wait(timeout=10)
    clock.now += 120
    supervisor.poll()
    assert supervisor.due["flaky"] - clock.now == 1
    devrun.stop(running)


def test_the_reason_a_process_stopped_is_named() -> None:
    assert devrun.describe_exit(-9) == "killed by SIGKILL"
    assert devrun.describe_exit(-15) == "killed by SIGTERM"
    assert devrun.describe_exit(1) == "exit code 1"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_run_restarts_a_killed_child_with_backoff_and_says_so(tmp_path: Path) -> None:
    run, pid_dir, out, actions_port = start_run_with_fake_bots(tmp_path)
    pids: set[int] = set()
    actions_pid_file = pid_dir / "rasa"  # the fake `bin/rasa` is the action server

    def actions_server() -> int:
        return int(actions_pid_file.read_text().split()[0])

    def health() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{actions_port}/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        up = _wait_for(lambda: "Ctrl-C stops everything" in out.read_text(), timeout=120)
        assert up, out.read_text()
        first = actions_server()
        assert _processes()[first][0] == run.pid

        for attempt, delay in enumerate(("1", "2"), start=1):
            before = actions_server()
            actions_pid_file.unlink()
            os.kill(before, signal.SIGKILL)
            said = f"actions stopped (killed by SIGKILL); restarting it in {delay} s"
            assert _wait_for(partial(_says, out, said, 1), timeout=10), out.read_text()
            assert _wait_for(actions_pid_file.exists, timeout=15), out.read_text()
            after = actions_server()
            assert after != before and _processes()[after][0] == run.pid
            assert _wait_for(health, timeout=10)
            text = out.read_text()
            assert len(re.findall(r"actions restarted \(pid \d+\)", text)) == attempt, text
            up_again = partial(_says, out, "actions is up again", attempt)
            assert _wait_for(up_again, timeout=10), out.read_text()
        # The others were left alone.
        assert "rasa stopped" not in out.read_text() and "service stopped" not in out.read_text()

        pids = _descendants(run.pid)
        os.kill(run.pid, signal.SIGTERM)
        assert run.wait(timeout=15) == 0, out.read_text()
        assert _wait_for(lambda: not (pids & set(_processes())), timeout=5)
    finally:
        kill_leftovers(run, pids)
