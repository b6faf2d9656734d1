"""Each dashboard table as CSV (UTF-8 with a BOM, so Excel reads the Chinese)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from dropdesk.dashboard import labels
from dropdesk.dashboard.drilldown import Listed
from dropdesk.dashboard.service import CHANNELS as CHANNEL_ORDER
from dropdesk.dashboard.service import (
    AgentRow,
    CodeRow,
    Outcomes,
    RatingFigures,
    TerminalRow,
    Traffic,
    VersionRow,
    rate,
)
from dropdesk.timezone import SHANGHAI

Table = tuple[Sequence[str], Iterable[Sequence[object]]]


def render(table: Table) -> str:
    header, rows = table
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def _channels(counts: dict[str, int]) -> list[int]:
    return [counts.get(c, 0) for c in CHANNEL_ORDER] + [sum(counts.values())]


def days(traffic: Traffic) -> Table:
    header = ["日期", *(labels.CHANNEL_TEXT[c] for c in CHANNEL_ORDER), "合计"]
    return header, ([day.isoformat(), *_channels(c)] for day, c in traffic.by_day.items())


def hours(traffic: Traffic) -> Table:
    header = ["时段", *(labels.CHANNEL_TEXT[c] for c in CHANNEL_ORDER), "合计"]
    return header, ([f"{h:02d}:00", *_channels(c)] for h, c in traffic.by_hour.items())


def codes(rows: list[CodeRow]) -> Table:
    return ["掉单类型", "代码", "会话数", "涉及金额(元)"], (
        [labels.DROP_CODE_TEXT.get(r.code, r.code), r.code, r.count, f"{r.amount:.2f}"]
        for r in rows
    )


def outcomes(found: Outcomes) -> Table:
    names = list(labels.OUTCOME_TEXT)
    header = ["日期", *labels.OUTCOME_TEXT.values(), "机器人解决率(%)"]
    rows = []
    for day, counts in found.by_day.items():
        resolved = sum(counts.get(o, 0) for o in ("solved", "silent"))
        ended = sum(counts.values()) - counts.get("open", 0)
        rows.append([day.isoformat(), *(counts.get(o, 0) for o in names), rate(resolved, ended)])
    return header, rows


def reasons(found: Outcomes) -> Table:
    return ["转人工原因", "代码", "会话数"], (
        [labels.REASON_TEXT.get(k, k), k, n] for k, n in sorted(found.reasons.items())
    )


def agents(rows: list[AgentRow]) -> Table:
    header = ["客服", "工单数", "等待接入中位(秒)", "等待接入P90(秒)", "处理时长中位(秒)",
              "处理时长P90(秒)", "首次响应达标", "首次响应超时", "未到期"]  # fmt: skip
    return header, (
        [r.name, r.tickets, r.wait.p50, r.wait.p90, r.handle.p50, r.handle.p90,
         r.sla.get("met", 0), r.sla.get("breached", 0), r.sla.get("pending", 0)]
        for r in rows
    )  # fmt: skip


def ratings(found: RatingFigures) -> Table:
    return ["工单号", "会话", "客服", "评分", "商户留言", "处理结果", "处理说明", "工单创建时间"], (
        [r.ticket_no, r.sid, r.agent, r.rating, r.comment, r.resolution, r.note,
         r.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")]
        for r in found.rated
    )  # fmt: skip


def conversations(rows: list[Listed]) -> Table:
    return ["会话", "开始时间", "渠道", "商户编号", "商户", "状态"], (
        [r.sid, r.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
         labels.CHANNEL_TEXT.get(r.channel, r.channel), r.merchant_no, r.merchant_name, r.status]
        for r in rows
    )  # fmt: skip


def terminals(rows: list[TerminalRow]) -> Table:
    return ["终端编号", "商户编号", "商户", "型号", "软件版本", "掉单会话数"], (
        [r.terminal_no, r.merchant_no, r.merchant_name, r.model, r.version, r.drops]
        for r in rows
    )


def versions(rows: list[VersionRow]) -> Table:
    return ["软件版本", "掉单会话数", "终端数"], ([r.version, r.drops, r.terminals] for r in rows)
