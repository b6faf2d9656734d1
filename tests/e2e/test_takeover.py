"""A person takes over from the real bot and gives the conversation back (real Rasa model)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from dropdesk import demo
from dropdesk.agent import service as agent_service
from dropdesk.agent.models import AgentCreate
from dropdesk.database.core import session_scope
from dropdesk.devrun import Stack
from dropdesk.timezone import now_shanghai
from tests.e2e.conftest import Chat

pytestmark = pytest.mark.rasa
TICKET_NO = re.compile(r"DD-\d{8}-\d{4}")


@pytest.fixture(scope="module")
def agent(stack: Stack) -> Iterator[httpx.Client]:
    """An agent with an API token on the running stack."""
    with session_scope(stack.settings.database_url) as db:
        found = agent_service.get_by_name(db_session=db, name="e2e-agent")
        if found is None:
            found = agent_service.create(
                db_session=db,
                spec=AgentCreate(name="e2e-agent", password="e2e agent password"),
                now=now_shanghai(),
            )
        token = agent_service.issue_api_token(db_session=db, agent=found)
    with httpx.Client(base_url=f"{stack.base_url}/api/v1/agent", timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
        yield http


def test_escalate_mid_form_then_hand_back_starts_clean(store_chat: Chat, agent: httpx.Client
                                                       ) -> None:  # fmt: skip
    store_chat.say("刚才刷卡显示超时，顾客说钱扣了")  # the form asks for the details
    escalated = store_chat.say("转人工")
    state = escalated["session"]
    assert state["status"] == "queued", store_chat.transcript()
    ticket_no = state["ticket_no"]
    assert TICKET_NO.fullmatch(ticket_no)
    said = "\n".join(m["text"] for m in escalated["messages"])
    assert ticket_no in said and "第" in said, said

    # While queued the bot is silent; the merchant hears the ticket and the place in the queue.
    waiting = store_chat.say("在吗")
    assert len(waiting["messages"]) == 1 and ticket_no in waiting["messages"][0]["text"]

    assert agent.post(f"/sessions/{store_chat.id}/claim").status_code == 200
    assert agent.post(f"/sessions/{store_chat.id}/messages",
                      json={"text": "您好，我是人工客服，正在核对"}).status_code == 200  # fmt: skip
    quiet = store_chat.say("好的，我等您")
    assert quiet["messages"] == []  # the bot says nothing while a person has it

    assert agent.post(f"/sessions/{store_chat.id}/handback").status_code == 200
    history = store_chat.http.get(f"/api/v1/sessions/{store_chat.id}/messages").json()
    assert history[-1]["sender"] == "bot"  # the bot greets the merchant again
    assert "DropDesk" in history[-1]["text"]
    # The half-filled form is gone: a whole report is diagnosed at once, nothing carried over.
    body = store_chat.say("刚才刷了320块5，机器显示超时，顾客说扣钱了，参考号612300000001")
    assert body["session"]["status"] == "bot"
    assert body["session"]["diagnosis"]["code"] == "approved_not_printed", store_chat.transcript()

    # Progress of the ticket, asked in the merchant's words, answered for their own ticket.
    progress = store_chat.say("我的工单怎么样了")
    answer = "\n".join(m["text"] for m in progress["messages"])
    assert ticket_no in answer, store_chat.transcript()


def test_another_merchant_never_hears_of_the_ticket(stack: Stack, store_chat: Chat) -> None:
    store_chat.say("转人工")
    ticket_no = store_chat.state()["ticket_no"]
    other = Chat(stack, demo.NOODLES.merchant_no)
    try:
        body = other.say(f"工单号 {ticket_no} 处理到哪了")
        answer = "\n".join(m["text"] for m in body["messages"])
        assert ticket_no not in answer and "e2e-agent" not in answer, answer
        assert body["session"]["status"] == "bot"
    finally:
        other.http.close()
