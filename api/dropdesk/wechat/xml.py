"""WeChat's XML: pushes parsed with DTDs and entities refused; replies that cannot inject."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from dropdesk.wechat.crypto import RefusedError

# Characters XML 1.0 cannot carry at all, CDATA or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def parse(body: bytes) -> dict[str, str]:
    """The <xml> element's children as a flat dict; RefusedError for anything else."""
    try:
        root: Element = fromstring(body, forbid_dtd=True, forbid_entities=True,
                                   forbid_external=True)  # fmt: skip
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise RefusedError(f"unparsable XML: {exc.__class__.__name__}") from exc
    if root.tag != "xml":
        raise RefusedError("root element is not <xml>")
    return {child.tag: (child.text or "") for child in root}


@dataclass(frozen=True)
class Inbound:
    """One message or event pushed by WeChat (only the fields DropDesk reads)."""

    account: str  # ToUserName: our account's original id (gh_…)
    openid: str  # FromUserName: the follower
    create_time: int
    msg_type: str
    msg_id: str = ""
    content: str = ""
    event: str = ""
    event_key: str = ""
    media_id: str = ""
    recognition: str = ""
    menu_id: str = ""  # bizmsgmenuid: a msgmenu choice the follower tapped

    @property
    def dedupe_key(self) -> str:
        """MsgId for messages; follower + time + event for events (WeChat's own rule).

        The event's key is part of it too: two menu clicks in one second are two pushes.
        """
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"event:{self.openid}:{self.create_time}:{self.event}:{self.event_key}"[:120]


def inbound(fields: dict[str, str]) -> Inbound:
    """Read a decrypted message; RefusedError if the fields every push has are missing."""
    openid, account = fields.get("FromUserName", ""), fields.get("ToUserName", "")
    created, msg_type = fields.get("CreateTime", ""), fields.get("MsgType", "")
    if not (openid and account and created.isdigit() and msg_type):
        raise RefusedError("message lacks FromUserName, ToUserName, CreateTime or MsgType")
    if len(openid) > 64 or len(account) > 64:
        raise RefusedError("user name too long")
    return Inbound(
        account=account,
        openid=openid,
        create_time=int(created),
        msg_type=msg_type.lower(),
        msg_id=fields.get("MsgId", "")[:32],
        content=fields.get("Content", ""),
        event=fields.get("Event", "").lower(),
        event_key=fields.get("EventKey", "")[:64],
        media_id=fields.get("MediaId", "")[:128],
        recognition=fields.get("Recognition", ""),
        menu_id=fields.get("bizmsgmenuid", "")[:16],
    )


def cdata(text: str) -> str:
    """A CDATA section that holds any text: ']]>' is split across two sections."""
    return "<![CDATA[" + _NOT_XML.sub("", text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(*, to_openid: str, account: str, content: str, now: float | None = None) -> str:
    """A passive text reply."""
    created = int(now if now is not None else time.time())
    return (
        f"<xml><ToUserName>{cdata(to_openid)}</ToUserName>"
        f"<FromUserName>{cdata(account)}</FromUserName><CreateTime>{created}</CreateTime>"
        f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(content)}</Content></xml>"
    )
