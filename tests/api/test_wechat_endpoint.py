"""GET/POST /wechat over real HTTP: verification, the three modes, and every refusal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dropdesk.config import Settings
from dropdesk.conversation.models import ChatSession
from dropdesk.database.core import session_scope
from dropdesk.wechat.crypto import MessageCrypto, signature
from dropdesk.wechat.models import InboundClaim
from dropdesk.wechat.xml import parse
from tests.api.factories import MERCHANT_A, row, store
from tests.api.wechat_helpers import TOKEN, Rig, aes_key, rig_with_merchants, wechat_rig

XXE = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName>"
       b"<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content>"
       b"<MsgId>1</MsgId></xml>")  # fmt: skip
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;">'
          b'<!ENTITY c "&b;&b;&b;&b;">]><xml><ToUserName>gh</ToUserName>'
          b"<FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
          b"<MsgType>text</MsgType><Content>&c;</Content><MsgId>2</MsgId></xml>")  # fmt: skip


@pytest.fixture
def rig(settings: Settings, tmp_path: Path, db_session: Session) -> Iterator[Rig]:
    with rig_with_merchants(settings, tmp_path, db_session) as rigged:
        yield rigged


def nothing_processed(rig: Rig) -> None:
    assert rig.rasa.received == [] and rig.wechat.sent == []
    with session_scope(rig.settings.database_url) as db:
        assert db.scalar(select(func.count()).select_from(InboundClaim)) == 0
        assert db.scalar(select(func.count()).select_from(ChatSession)) == 0


def test_url_verification_echoes_echostr_exactly(rig: Rig) -> None:
    ts, nonce, echo = str(int(time.time())), "n0nce", "7391234567890 &echo"
    query = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
             "echostr": echo}  # fmt: skip
    ok = httpx.get(f"{rig.base_url}/wechat", params=query)
    assert ok.status_code == 200 and ok.text == echo
    forged = httpx.get(f"{rig.base_url}/wechat", params=query | {"signature": "0" * 40})
    assert forged.status_code == 200 and forged.text == ""
    stale = str(int(time.time()) - 301)
    old = {**query, "timestamp": stale, "signature": signature(TOKEN, stale, nonce)}
    assert httpx.get(f"{rig.base_url}/wechat", params=old).text == ""


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_a_bound_merchant_talks_to_the_bot_in_every_mode(rig: Rig, mode: str) -> None:
    fan = rig.bound(MERCHANT_A, mode=mode)
    reply = fan.text("刚才刷卡显示超时，顾客说扣钱了")
    assert reply.status == 200 and reply.text is not None
    assert reply.text.startswith("heard: 刚才刷卡显示超时")  # the bot's answer, passively
    assert "1. 解决了" in reply.text  # its button as a numbered choice
    if mode != "plain":
        assert b"<Encrypt>" in reply.body and "刷卡".encode() not in reply.body
    # Answering with the number sends the button's payload into the conversation.
    assert fan.text("1").text == "heard: /affirm\n\n回复数字即可选择：\n1. 解决了"
    sid = rig.session_of(fan.openid)
    assert sid is not None
    said = [text for sender, text in rig.transcript(sid) if sender == "merchant"]
    assert said == ["刚才刷卡显示超时，顾客说扣钱了", "/affirm"]
    with session_scope(rig.settings.database_url) as db:
        assert db.get_one(ChatSession, sid).channel == "wechat"
    assert rig.wechat.sent == []  # everything went back passively; nothing sent twice


def test_forged_stale_tampered_and_foreign_requests_are_never_processed(rig: Rig) -> None:
    fan = rig.follower(mode="safe")
    xml = fan.message_xml("text", Content="你好", MsgId=fan.next_msg_id())
    body, query = fan.envelope(xml)
    refused = [
        fan.post_raw(body, query | {"signature": "f" * 40}),  # forged signature
        fan.post_raw(body, query | {"msg_signature": "0" * 40}),  # forged msg_signature
        fan.post_raw(body, query | {"openid": "someone-else"}),  # URL and message disagree
    ]
    stale = str(int(time.time()) - 600)
    plain = rig.follower(mode="plain")
    refused.append(plain.post_raw(xml.encode(), plain.signed_query(timestamp=stale)))
    # Tampered ciphertext: one byte flipped, signatures recomputed as an attacker can't.
    sealed = fan.crypto.encrypt(xml.encode())  # type: ignore[union-attr]
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    for encrypted in (flipped, "!!not base64!!"):
        envelope = f"<xml><ToUserName>gh</ToUserName><Encrypt>{encrypted}</Encrypt></xml>"
        refused.append(fan.post_raw(envelope.encode(), fan.signed_query(encrypted=encrypted)))
    # Another appid's message, encrypted with our key.
    foreign = MessageCrypto(TOKEN, "wxsomeoneelse0000", rig.keys).encrypt(xml.encode())
    envelope = f"<xml><ToUserName>gh</ToUserName><Encrypt>{foreign}</Encrypt></xml>"
    refused.append(fan.post_raw(envelope.encode(), fan.signed_query(encrypted=foreign)))
    for reply in refused:
        assert (reply.status, reply.body) == (200, b""), reply
    nothing_processed(rig)


@pytest.mark.parametrize("body", [
    XXE, LAUGHS, b"", b"not xml at all", b"<xml><unclosed></xml>", b"<html></html>",
    b"<xml><ToUserName>gh</ToUserName></xml>",
    b"<xml>" + b"<Content>x</Content>" * 2000 + b"</xml>",  # oversized
], ids=["xxe", "entity-expansion", "empty", "not-xml", "broken", "not-wechat", "incomplete",
        "oversized"])  # fmt: skip
def test_hostile_or_broken_bodies_get_an_empty_answer_and_a_log_line(
    rig: Rig, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    fan = rig.follower(openid="o1")
    reply = fan.post_raw(body, fan.signed_query())
    assert (reply.status, reply.body) == (200, b"")
    assert "wechat request refused" in caplog.text
    assert "/etc/passwd" not in caplog.text and "Traceback" not in caplog.text
    nothing_processed(rig)


def test_unknown_message_types_get_a_polite_text(rig: Rig) -> None:
    fan = rig.follower()
    reply = fan.post(fan.message_xml("shortvideo", MediaId="v1", MsgId=fan.next_msg_id()))
    assert reply.text is not None and "文字" in reply.text
    located = fan.post(fan.message_xml("location", Label="上海", MsgId=fan.next_msg_id()))
    assert located.text == reply.text
    assert rig.rasa.received == []


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_a_reply_containing_cdata_end_cannot_inject_xml(rig: Rig, mode: str) -> None:
    fan = rig.bound(MERCHANT_A, mode=mode)
    evil = "x]]></Content><MsgType><![CDATA[news]]></MsgType><Content><![CDATA[y"
    reply = fan.text(evil)
    assert reply.text is not None and reply.text.startswith(f"heard: {evil}\n")
    if mode == "plain":
        fields = parse(reply.body)
        assert list(fields) == ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content"]
        assert fields["MsgType"] == "text"


def test_key_rotation_opens_both_keys_and_answers_with_the_one_used(
    settings: Settings, tmp_path: Path, db_session: Session
) -> None:
    store(db_session, row())
    new, old = aes_key(), aes_key()
    with wechat_rig(settings, tmp_path, keys=[new, old]) as rig:
        for key in (new, old):
            fan = rig.follower(mode="safe", key=key)  # the client knows only this key
            reply = fan.event("subscribe")
            assert reply.text is not None and "欢迎" in reply.text
        stranger = rig.follower(mode="safe", key=aes_key())
        assert stranger.event("subscribe").body == b""
