"""What the dashboard page shows: figures turned into charts, numbers and drill-down links."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from dropdesk.dashboard import charts, labels
from dropdesk.dashboard.charts import Bar, Stack
from dropdesk.dashboard.period import Period
from dropdesk.dashboard.service import (
    CHANNELS,
    DiagnosisFigures,
    Outcomes,
    RatingFigures,
    Traffic,
    VersionRow,
    rate,
)

BASE = "/console/dashboard"


@dataclass(frozen=True)
class Links:
    """Addresses of the conversations behind a figure, and of a table's CSV, for one period."""

    period: Period

    def conversations(self, **filters: object) -> str:
        query = self.period.query() | {k: str(v) for k, v in filters.items()}
        return f"{BASE}/conversations?{urlencode(query)}"

    def csv(self, table: str, **filters: object) -> str:
        query = self.period.query() | {k: str(v) for k, v in filters.items()}
        return f"{BASE}/export/{table}.csv?{urlencode(query)}"

    def dashboard(self) -> str:
        return f"{BASE}?{urlencode(self.period.query())}"

    def preset(self, preset: str) -> str:
        return f"{BASE}?{urlencode({'range': preset})}"


def percent(part: int, whole: int) -> str:
    value = rate(part, whole)
    return "—" if value is None else f"{value}%"


def minutes(seconds: int | None) -> str:
    """A duration as agents read it: 45 秒, 12 分钟, 1 小时 5 分."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} 秒"
    if seconds < 3600:
        return f"{seconds // 60} 分钟"
    return f"{seconds // 3600} 小时 {seconds % 3600 // 60} 分"


def _day_label(day: dt.date) -> str:
    return f"{day.month}/{day.day}"


def traffic_charts(traffic: Traffic, links: Links) -> dict[str, Markup]:
    series = [(c, labels.CHANNEL_TEXT[c]) for c in CHANNELS]
    by_day = [
        Stack(_day_label(day),
              tuple((c, counts.get(c, 0), links.conversations(day=day, channel=c))
                    for c in CHANNELS),
              links.conversations(day=day))
        for day, counts in traffic.by_day.items()
    ]  # fmt: skip
    by_hour = [
        Stack(f"{hour}时",
              tuple((c, counts.get(c, 0), links.conversations(hour=hour, channel=c))
                    for c in CHANNELS),
              links.conversations(hour=hour))
        for hour, counts in traffic.by_hour.items()
    ]  # fmt: skip
    return {
        "by_day": charts.stacked("每天会话数（按渠道）", by_day, series, width=1100),
        "by_hour": charts.stacked("各时段会话数（按渠道）", by_hour, series, width=1100),
    }


def outcome_charts(found: Outcomes, links: Links) -> dict[str, Markup]:
    reasons = [
        Bar(labels.REASON_TEXT.get(k, k), n, str(n),
            links.conversations(outcome="escalated", reason=k))
        for k, n in sorted(found.reasons.items(), key=lambda kv: -kv[1])
    ]  # fmt: skip
    trend = []
    for day, counts in found.by_day.items():
        resolved = counts.get("solved", 0) + counts.get("silent", 0)
        ended = sum(counts.values()) - counts.get("open", 0)
        value = rate(resolved, ended)
        trend.append(Bar(_day_label(day), -1 if value is None else float(value),
                         f"{value}%" if value is not None else "",
                         links.conversations(day=day)))  # fmt: skip
    series = [(o, labels.OUTCOME_TEXT[o]) for o in labels.OUTCOME_TEXT]
    stacks = [
        Stack(_day_label(day),
              tuple((o, counts.get(o, 0), links.conversations(day=day, outcome=o))
                    for o in labels.OUTCOME_TEXT),
              links.conversations(day=day))
        for day, counts in found.by_day.items()
    ]  # fmt: skip
    return {
        "reasons": charts.hbars("转人工原因", reasons),
        "trend": charts.line("每天机器人解决率", trend),
        "by_day": charts.stacked("每天会话结果", stacks, series),
    }


def codes_chart(rows: list[Any], links: Links, *, by: str) -> Markup:
    bars = [
        Bar(labels.DROP_CODE_TEXT.get(r.code, r.code),
            float(r.amount) if by == "amount" else r.count,
            f"¥{r.amount:,.2f}" if by == "amount" else str(r.count),
            links.conversations(code=r.code))
        for r in rows
    ]  # fmt: skip
    return charts.hbars("掉单类型：涉及金额" if by == "amount" else "掉单类型：会话数", bars)


def ratings_chart(found: RatingFigures, links: Links) -> Markup:
    bars = [Bar(f"{score} 分", n, str(n), links.conversations(rating=score))
            for score, n in found.distribution.items()]  # fmt: skip
    return charts.hbars("评分分布", bars)


def diagnosis_kpis(found: DiagnosisFigures) -> dict[str, str]:
    return {
        "p50": "—" if found.turns.p50 is None else f"{found.turns.p50} 轮",
        "p90": "—" if found.turns.p90 is None else f"{found.turns.p90} 轮",
        "no_ref": percent(found.without_ref, found.diagnoses),
    }


def versions_chart(rows: list[VersionRow], links: Links) -> Markup:
    bars = [Bar(v.version, v.drops, str(v.drops), links.conversations(version=v.version))
            for v in rows]  # fmt: skip
    return charts.hbars("各软件版本掉单会话数", bars)
