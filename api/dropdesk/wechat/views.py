"""WeChat's push endpoint (GET verification, POST messages) and the merchant's bind code.

A request that is not provably WeChat's, or not intact, is logged and answered with an empty
body: never processed, never an error page. Accepted pushes with nothing to say get 'success'.
"""

from __future__ import annotations

import logging
import secrets
import time

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from dropdesk.deps import CurrentMerchantNo, SessionDep, SettingsDep
from dropdesk.wechat import service
from dropdesk.wechat.channel import WeChatChannel
from dropdesk.wechat.crypto import MessageCrypto, RefusedError, check_signature, check_timestamp
from dropdesk.wechat.models import BindCodeIssued
from dropdesk.wechat.xml import inbound, parse, text_reply

log = logging.getLogger(__name__)
router = APIRouter(tags=["wechat"])
bind_router = APIRouter(prefix="/api/v1/wechat", tags=["wechat"])
XML = "application/xml"


def _refused(request: Request, reason: str) -> Response:
    client = request.client.host if request.client else "?"
    log.warning("wechat request refused from %s: %s", client, reason)
    return Response(content=b"", media_type="text/plain")


def _authentic(request: Request, token: str) -> None:
    query = request.query_params
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    check_timestamp(timestamp, time.time())
    check_signature(query.get("signature", ""), token, timestamp, nonce)


@router.get("/wechat", include_in_schema=False)
async def verify(request: Request, settings: SettingsDep) -> Response:
    """URL verification: echo `echostr` exactly when the signature is WeChat's."""
    try:
        _authentic(request, settings.wechat_token)
    except RefusedError as exc:
        return _refused(request, str(exc))
    return PlainTextResponse(request.query_params.get("echostr", ""))


async def _body(request: Request, limit: int) -> bytes:
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise RefusedError(f"body over {limit} bytes")
    return bytes(received)


@router.post("/wechat", include_in_schema=False)
async def push(request: Request, settings: SettingsDep) -> Response:
    """One message or event: plain, compatible or safe mode."""
    channel: WeChatChannel = request.app.state.wechat
    query = request.query_params
    encrypted = query.get("encrypt_type", "raw").lower() == "aes"
    try:
        _authentic(request, settings.wechat_token)
        fields = parse(await _body(request, settings.wechat_max_body_bytes))
        key_index = 0
        crypto = None
        if encrypted:
            crypto = MessageCrypto(settings.wechat_token, settings.wechat_appid,
                                   settings.wechat_aes_key)  # fmt: skip
            sealed = fields.get("Encrypt", "")
            check_signature(query.get("msg_signature", ""), settings.wechat_token,
                            query.get("timestamp", ""), query.get("nonce", ""), sealed)  # fmt: skip
            opened = crypto.decrypt(sealed)
            key_index = opened.key_index
            fields = parse(opened.message)
        message = inbound(fields)
        if query.get("openid") and query["openid"] != message.openid:
            raise RefusedError("openid in the URL differs from the message's")
    except RefusedError as exc:
        return _refused(request, str(exc))
    except ValueError as exc:  # safe mode requested but no key configured
        return _refused(request, f"cannot open safe-mode message: {exc}")
    try:
        text = await channel.answer(message)
    except Exception:  # the claim store is down, say: WeChat retries a failed push
        log.exception("wechat push %s could not be claimed", message.dedupe_key)
        return Response(content=b"", status_code=503, media_type="text/plain")
    if text is None:
        return PlainTextResponse("success")
    reply = text_reply(to_openid=message.openid, account=message.account, content=text)
    if crypto is not None:
        reply = crypto.seal_reply(reply, key_index=key_index, timestamp=str(int(time.time())),
                                  nonce=secrets.token_hex(8))  # fmt: skip
    return Response(content=reply.encode(), media_type=XML)


@bind_router.post("/bind-codes", response_model=BindCodeIssued, status_code=201)
def issue_bind_code(merchant_no: CurrentMerchantNo, db_session: SessionDep,
                    settings: SettingsDep) -> BindCodeIssued:  # fmt: skip
    """「绑定微信」: a one-time code the merchant sends to the official account as 绑定 123456."""
    return service.issue_bind_code(db_session=db_session, merchant_no=merchant_no,
                                   secret_key=settings.secret_key,
                                   minutes=settings.wechat_bind_code_minutes,
                                   throttled=True)  # fmt: skip
