"""Durable by default: Rasa killed in the middle of the drop form keeps the conversation."""

from __future__ import annotations

import os
import signal
import socket
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import text

from dropdesk import demo
from dropdesk.config import ROOT
from dropdesk.database.core import get_engine
from dropdesk.devrun import (
    Stack,
    free_port,
    processes,
    start,
    stop,
    wait_healthy,
    warm_up,
)
from tests.api.conftest import PG_BASE
from tests.e2e.conftest import BOT_VENV, MODEL, Chat

pytestmark = pytest.mark.rasa


def test_rasa_killed_mid_form_keeps_the_slots(stack: Stack, store_chat: Chat) -> None:
    store_chat.say("顾客说同一张卡被扣了两次钱")
    store_chat.say("没有单号")
    store_chat.say("五十分钟前")
    held = store_chat.state()
    assert held["diagnosis"] is None and held["evidence"]["txn_time"] is not None, (
        store_chat.transcript()
    )

    stack.kill("rasa")  # kill -9: nothing is flushed on the way out
    warm_up(stack.settings.rasa_url, stack.settings.rasa_token)

    # The merchant goes on with the one value still missing, and is not asked again from the top.
    body = store_chat.say("199元")
    state = body["session"]
    assert state["diagnosis"] is not None, store_chat.transcript()
    assert state["diagnosis"]["code"] == "duplicate_charge", store_chat.transcript()
    assert state["evidence"]["amount"] == "199.00"
    assert state["evidence"]["txn_time"] == held["evidence"]["txn_time"]
    assert state["evidence"]["order_ref"] is None


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _turn(rasa_url: str, sender: str, text: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{rasa_url}/webhooks/dropdesk/webhook",
        timeout=60,
        json={
            "sender": sender,
            "message": text,
            "metadata": {"merchant_no": demo.STORE.merchant_no},
        },
    )
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


@pytest.mark.skipif(not (_reachable(5432) and _reachable(6379)),
                    reason="needs PostgreSQL on 5432 and Redis on 6379")  # fmt: skip
def test_the_production_endpoints_keep_the_conversation_in_postgresql(
    stack: Stack, store_chat: Chat, tmp_path: Path
) -> None:
    """docker/endpoints.yml as it ships (SQL tracker store, Redis locks with a socket timeout),
    pointed at the local PostgreSQL and Redis: a second Rasa, killed mid-form, keeps the slots."""
    endpoints = yaml.safe_load((ROOT / "docker" / "endpoints.yml").read_text())
    tracker, locks = endpoints["tracker_store"], endpoints["lock_store"]
    assert (tracker["type"], tracker["dialect"]) == ("SQL", "postgresql")
    assert locks["type"] == "redis" and 0 < float(locks["socket_timeout"]) <= 10
    schema = f"dd_rasa_{uuid.uuid4().hex[:10]}"
    admin = get_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    actions_port = int(stack.specs[0].health_url.rsplit(":", 1)[1].split("/")[0])
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{actions_port}/webhook"
    tracker.update(url="127.0.0.1", db="test", username="postgres", password="",
                   query={"options": f"-csearch_path={schema}"})  # fmt: skip
    locks.update(url="127.0.0.1", key_prefix=schema.replace("_", ""))
    path = tmp_path / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints))
    rasa_url = f"http://127.0.0.1:{free_port()}"
    settings = stack.settings.model_copy(update={"rasa_url": rasa_url})
    spec = next(p for p in processes(settings, Path(MODEL).resolve(), BOT_VENV,
                                     endpoints=path) if p.name == "rasa")  # fmt: skip
    running = start([spec], tmp_path, stack.env)
    try:
        assert wait_healthy([spec], running, timeout=300) is None, (
            tmp_path / "rasa.log"
        ).read_text()[-3000:]
        sender = store_chat.id  # a real session: the action server asks the service about it
        _turn(rasa_url, sender, "顾客说同一张卡被扣了两次钱")
        _turn(rasa_url, sender, "没有单号")
        held = _turn(rasa_url, sender, "五十分钟前")["slots"]
        assert held.get("txn_time") and not held.get("diagnosis_code"), held

        os.killpg(running[0].pid, signal.SIGKILL)
        running[0].wait(timeout=10)
        running[0] = start([spec], tmp_path, stack.env)[0]
        assert wait_healthy([spec], running, timeout=300) is None

        slots = _turn(rasa_url, sender, "199元")["slots"]
        assert slots["diagnosis_code"] == "duplicate_charge", slots
        assert slots["txn_time"] == held["txn_time"]
        with admin.connect() as conn:
            query = text(f"SELECT count(*) FROM {schema}.events WHERE sender_id = :s")
            events = conn.execute(query, {"s": sender}).scalar_one()
        assert events > 10  # the conversation lives in PostgreSQL
    finally:
        stop(running)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
