"""The one business time zone: every merchant-facing time is Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
# China has kept UTC+8 without DST since 1991, so a fixed offset is exact for any transaction
# and far cheaper to convert on bulk import than the zoneinfo rules.
UTC8 = dt.timezone(dt.timedelta(hours=8))


def parse_business_time(text: str) -> dt.datetime:
    """Parse ISO 8601; a naive time is taken as Asia/Shanghai."""
    value = dt.datetime.fromisoformat(text.strip())
    return value.replace(tzinfo=UTC8) if value.tzinfo is None else value


def now_shanghai() -> dt.datetime:
    """Return the current time in Asia/Shanghai."""
    return dt.datetime.now(SHANGHAI)
