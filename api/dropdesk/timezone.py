"""The one business time zone: every merchant-facing time is Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_business_time(text: str) -> dt.datetime:
    """Parse ISO 8601; a naive time is taken as Asia/Shanghai."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value


def now_shanghai() -> dt.datetime:
    """Return the current time in Asia/Shanghai."""
    return dt.datetime.now(SHANGHAI)
