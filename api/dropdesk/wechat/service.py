"""Followers, binding codes and delivery records: plain functions over a database session."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.conversation import service as conversation_service
from dropdesk.conversation.models import ChatSession, SessionStatus
from dropdesk.errors import NotFoundError, TooManyRequestsError
from dropdesk.merchant import service as merchant_service
from dropdesk.merchant.models import Merchant
from dropdesk.wechat.models import BindCode, BindCodeIssued, DeliveryStatus, Follower, Outbound

CHANNEL = "wechat"
MAX_BIND_FAILURES = 5
BIND_LOCK = dt.timedelta(minutes=15)
# 「绑定微信」 in the widget: at most this many codes per merchant in the window.
MAX_CODES_ISSUED = 5
ISSUE_WINDOW = dt.timedelta(minutes=10)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- followers -----------------------------------------------------------------------------------


def follower(*, db_session: Session, openid: str) -> Follower:
    """The follower with this OpenID, created on first contact."""
    found = db_session.get(Follower, openid)
    if found is None:
        now = _now()
        found = Follower(openid=openid, subscribed=True, bind_failures=0,
                         created_at=now, updated_at=now)  # fmt: skip
        db_session.add(found)
        db_session.flush()
    return found


def by_session(*, db_session: Session, session_id: str) -> Follower | None:
    return db_session.scalar(select(Follower).where(Follower.session_id == session_id))


def merchant_no_of(*, db_session: Session, fan: Follower) -> str | None:
    if fan.merchant_id is None:
        return None
    merchant = db_session.get(Merchant, fan.merchant_id)
    return merchant.merchant_no if merchant else None


def open_session(*, db_session: Session, fan: Follower) -> ChatSession:
    """The follower's one open chat session with its bound merchant, opened when there is none."""
    assert fan.merchant_id is not None
    chat = db_session.get(ChatSession, fan.session_id) if fan.session_id else None
    if chat is None or chat.status == SessionStatus.CLOSED or chat.merchant_id != fan.merchant_id:
        merchant = db_session.get_one(Merchant, fan.merchant_id)
        chat = conversation_service.create(
            db_session=db_session, merchant_no=merchant.merchant_no, channel=CHANNEL
        )
        fan.session_id = chat.id
    return chat


def set_subscribed(*, db_session: Session, fan: Follower, subscribed: bool) -> None:
    fan.subscribed = subscribed
    fan.unreachable_reason = None if subscribed else "unsubscribed"
    fan.updated_at = _now()


def heard_from(*, db_session: Session, fan: Follower) -> None:
    """A message from the follower opens WeChat's 48-hour window again."""
    if fan.unreachable_reason in {"window_closed", "quota"}:
        fan.unreachable_reason = None
    fan.subscribed = True
    fan.updated_at = _now()


def unreachable_text(*, db_session: Session, chat: ChatSession) -> str | None:
    """For agents: why the merchant of a WeChat session can no longer be reached there."""
    if chat.channel != CHANNEL:
        return None
    fan = by_session(db_session=db_session, session_id=chat.id)
    if fan is None or fan.unreachable_reason is None:
        return None
    return messages.WECHAT_UNREACHABLE.get(fan.unreachable_reason, fan.unreachable_reason)


def record_delivery(*, db_session: Session, openid: str, session_id: str | None,
                    message_ids: list[int], status: DeliveryStatus,
                    errcode: int | None = None, errmsg: str | None = None,
                    reason: str | None = None) -> None:  # fmt: skip
    """Keep what happened to a customer-service message; mark the follower if unreachable."""
    row = Outbound(openid=openid, session_id=session_id, message_ids=message_ids or None,
                   status=status, errcode=errcode, errmsg=(errmsg or "")[:200] or None,
                   created_at=_now())  # fmt: skip
    db_session.add(row)
    if status == DeliveryStatus.UNREACHABLE and reason:
        fan = db_session.get(Follower, openid)
        if fan is not None:
            fan.unreachable_reason = reason
            fan.updated_at = _now()


def deliveries(*, db_session: Session, session_id: str) -> list[Outbound]:
    return list(
        db_session.scalars(
            select(Outbound).where(Outbound.session_id == session_id).order_by(Outbound.id)
        )
    )


# --- binding -------------------------------------------------------------------------------------


class BindOutcome(enum.StrEnum):
    BOUND = "bound"
    WRONG = "wrong"
    EXPIRED = "expired"
    USED = "used"
    LOCKED = "locked"


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    merchant_name: str = ""


def _hash(code: str, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), code.encode(), hashlib.sha256).hexdigest()


def issue_bind_code(*, db_session: Session, merchant_no: str, secret_key: str,
                    minutes: int, throttled: bool = False) -> BindCodeIssued:  # fmt: skip
    """A fresh six-digit, single-use code for the merchant, valid for `minutes`.

    `throttled` (the merchant's own requests): refused with TooManyRequestsError once the
    merchant has had MAX_CODES_ISSUED codes within ISSUE_WINDOW. Operators are not throttled.
    """
    merchant = merchant_service.get_by_no(db_session=db_session, merchant_no=merchant_no)
    if merchant is None:
        raise NotFoundError("merchant not found")
    now = _now()
    if throttled:
        recent = db_session.scalar(
            select(func.count())
            .select_from(BindCode)
            .where(BindCode.merchant_id == merchant.id, BindCode.created_at > now - ISSUE_WINDOW)
        )
        if (recent or 0) >= MAX_CODES_ISSUED:
            raise TooManyRequestsError(messages.WECHAT_BIND_CODE_THROTTLED)
    # Spent and expired codes are forgotten after a day, so six digits never run out.
    db_session.execute(delete(BindCode).where(BindCode.expires_at < now - dt.timedelta(days=1)))
    while True:
        code = f"{secrets.randbelow(1_000_000):06d}"
        digest = _hash(code, secret_key)
        if db_session.scalar(select(BindCode.id).where(BindCode.code_hash == digest)) is None:
            break
    expires = now + dt.timedelta(minutes=minutes)
    db_session.add(BindCode(code_hash=digest, merchant_id=merchant.id, expires_at=expires,
                            created_at=now))  # fmt: skip
    db_session.flush()
    return BindCodeIssued(code=code, expires_at=expires, valid_minutes=minutes)


def redeem(*, db_session: Session, fan: Follower, code: str, secret_key: str) -> BindResult:
    """Bind the follower with a code; wrong guesses lock the follower out for a while."""
    now = _now()
    if fan.bind_locked_until and fan.bind_locked_until > now:
        return BindResult(BindOutcome.LOCKED)
    found = db_session.scalar(
        select(BindCode).where(BindCode.code_hash == _hash(code, secret_key)).with_for_update()
    )
    outcome = None
    if found is None:
        outcome = BindOutcome.WRONG
    elif found.used_at is not None:
        outcome = BindOutcome.USED
    elif found.expires_at <= now:
        outcome = BindOutcome.EXPIRED
    if outcome is not None:
        fan.bind_failures += 1
        fan.updated_at = now
        if fan.bind_failures >= MAX_BIND_FAILURES:
            fan.bind_failures = 0
            fan.bind_locked_until = now + BIND_LOCK
            return BindResult(BindOutcome.LOCKED)
        return BindResult(outcome)
    assert found is not None
    found.used_at, found.used_by = now, fan.openid
    if fan.merchant_id != found.merchant_id:
        fan.session_id = None  # another merchant's conversation is never carried over
    fan.merchant_id = found.merchant_id
    fan.bind_failures, fan.bind_locked_until, fan.updated_at = 0, None, now
    merchant = db_session.get_one(Merchant, found.merchant_id)
    return BindResult(BindOutcome.BOUND, merchant_name=merchant.name or merchant.merchant_no)


def unbind(*, db_session: Session, fan: Follower) -> bool:
    """Forget the follower's merchant and session; False if it was not bound."""
    if fan.merchant_id is None:
        return False
    fan.merchant_id = None
    fan.session_id = None
    fan.choices = None
    fan.updated_at = _now()
    return True

