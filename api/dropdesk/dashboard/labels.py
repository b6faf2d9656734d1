"""The dashboard's words (the console's own live in dropdesk.messages, which this reuses)."""

from __future__ import annotations

from dropdesk import messages

TITLE = "数据看板"
RANGES = {"today": "今天", "7d": "近 7 天", "30d": "近 30 天"}
OUTCOME_TEXT = {
    "solved": "商户说解决了",
    "silent": "诊断后 30 分钟无回复",
    "escalated": "转人工",
    "undiagnosed": "未诊断就离开",
    "open": "进行中",
}
SLA_TEXT = {"met": "达标", "breached": "超时", "pending": "未到期"}
CHANNEL_TEXT = messages.CHANNEL_TEXT
DROP_CODE_TEXT = messages.DROP_CODE_TEXT
REASON_TEXT = {**messages.ESCALATION_REASON_TEXT, "unknown": "未记录"}
RATINGS_HINT = ("商户打分后可以留一句话（打分后 30 分钟内发的下一条消息）；"
                "“处理说明”是客服解决时写的。")
AGENT_ONLY = "你看到的是自己处理的工单；全队数据只有主管能看。"
FILTER_TEXT = {
    "channel": "渠道", "day": "日期", "hour": "时段", "code": "掉单类型", "outcome": "结果",
    "reason": "转人工原因", "no_ref": "无单号诊断", "terminal": "终端", "version": "软件版本",
    "agent": "客服", "sla": "首次响应", "rating": "评分", "comment": "商户留言",
    "ticket": "工单",
}  # fmt: skip
