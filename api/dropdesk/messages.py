"""Service-side text (Chinese for merchants and agents); bot text lives in the Rasa domain."""

from __future__ import annotations

from typing import NamedTuple


class ResponseCodeText(NamedTuple):
    meaning: str
    advice: str


# ISO 8583 field 39, in merchant words; the bot gets this table through actions/contract/.
RESPONSE_CODES: dict[str, ResponseCodeText] = {
    "00": ResponseCodeText("交易成功", "这笔是成功的，不要让顾客重复付款。"),
    "05": ResponseCodeText("发卡行拒绝（不予承兑）", "请顾客换张卡，或联系自己的发卡银行。"),
    "12": ResponseCodeText("无效交易", "这张卡不支持这种交易，换卡或改用扫码支付。"),
    "14": ResponseCodeText("无效卡号", "卡号有问题，请顾客换张卡。"),
    "25": ResponseCodeText("找不到原始交易", "撤销或退货时找不到原交易，请核对凭证号和交易日期。"),
    "51": ResponseCodeText("余额不足", "顾客卡里钱不够，请换卡或换种方式付款。"),
    "54": ResponseCodeText("卡片已过期", "请顾客换张有效期内的卡。"),
    "55": ResponseCodeText("密码错误", "请顾客重新输入密码，连续输错卡会被锁。"),
    "61": ResponseCodeText("超出金额限制", "超过了单笔或单日限额，换卡或分开付款。"),
    "68": ResponseCodeText(
        "银行响应超时", "结果不确定，先别让顾客重付，把时间和金额发给我查一下。"
    ),
    "91": ResponseCodeText("发卡行暂时联系不上", "银行系统暂时不可用，过几分钟再试或换卡。"),
    "94": ResponseCodeText("重复交易", "这笔可能已经提交过，先查一下是否成功，别重复收款。"),
    "96": ResponseCodeText("系统故障", "收单系统出错，稍后再试；一直出现请转人工。"),
    "98": ResponseCodeText(
        "发卡行没有应答（超时）", "结果不确定，先别让顾客重付，发时间和金额给我查。"
    ),
    "A0": ResponseCodeText("MAC 校验错误", "在 POS 机上重新签到后再交易。"),
}
NO_RESPONSE = "主机未应答"

REASONS: dict[str, str] = {
    "declined": "找到 {count} 笔交易: 主机拒绝, 应答码 {response_code} ({response_meaning}), 顾客未被扣款。",
    "no_response": "找到 {count} 笔交易: 主机未应答, 交易未成功, 顾客未被扣款。",
    "reversed": "找到 {count} 笔交易: 已批准后冲正成功, 款项退回顾客卡上。",
    "voided": "找到 {count} 笔交易: 已批准, 之后已撤销, 款项退回顾客卡上。",
    "refunded": "找到 {count} 笔交易: 已批准, 之后已退货, 款项退回顾客卡上。",
    "not_found": "按所给信息没有找到交易记录, 交易可能没有到达主机。",
    "approved_not_printed": "找到 {count} 笔交易: 主机已批准(00), 终端显示{terminal_status_text}, 没有冲正, 交易有效。",
    "settlement_pending": "找到 {count} 笔交易: 交易成功, 结算周期内, 预计 {expected_date} 到账。",
    "settled": "找到 {count} 笔交易: 交易成功, 已于 {settlement_date} 结算, 批次号 {batch_no}。",
    "settlement_overdue": "找到 {count} 笔交易: 交易成功, 应于 {expected_date} 到账, 已超过结算周期仍未结算。",
    "settlement_failed": "找到 {count} 笔交易: 交易成功, 结算出款失败。",
    "settlement_held": "找到 {count} 笔交易: 交易成功, 款项被风控暂缓结算。",
    "duplicate_charge": "找到 {count} 笔同卡同金额的成功消费, 间隔 {gap_minutes} 分钟, 属于重复扣款。",
    "reversal_failed": "找到 {count} 笔交易: 已批准, 冲正失败, 形成单边账。",
    "ambiguous": "找到 {count} 笔可能的交易, 需要{separating_text}才能确定是哪一笔。",
}
TERMINAL_STATUS_TEXT = {"failed": "失败", "timeout": "超时", "completed": "成功"}
SEPARATING_TEXT = {
    "card_last4": "卡号后四位",
    "time": "更准确的交易时间",
    "amount": "准确金额",
    "reference": "订单号或参考号",
    "terminal": "是哪台 POS 机",
    "screen": "POS 机当时显示的结果",
}

NEXT_STEPS: dict[str, str] = {
    "explain_response_code": "向顾客说明拒绝原因",
    "charge_again": "确认顾客未被扣款后重新收款",
    "tell_customer_refund_timing": "告知顾客退款到账时间",
    "recheck_details": "核对订单号、时间和金额",
    "check_network": "检查 POS 机网络和硬件",
    "do_not_charge_again": "不要重复收款",
    "offer_eslip": "补打或发送电子签购单",
    "wait_for_settlement": "按结算周期等待到账",
    "check_bank_account": "核对结算账户入账",
    "void_extra_today": "当天撤销多扣的一笔",
    "refund_extra": "对多扣的一笔发起退货",
    "escalate": "转人工处理",
    "ask_card_last4": "询问卡号后四位",
    "ask_time": "询问准确交易时间",
    "ask_amount": "询问准确金额",
    "ask_reference": "询问订单号或参考号",
    "ask_terminal": "询问是哪台 POS 机",
    "ask_screen": "询问 POS 机当时显示的结果",
}

BOT_UNAVAILABLE = (
    "抱歉，系统暂时繁忙，您的消息已经收到并保存。请稍等一两分钟再发一次，我们会接着处理。"
)
# The database is down or restarting: nothing was kept, the client sends the same request again.
SERVICE_UNAVAILABLE = "系统暂时繁忙，刚才的请求没有完成，请稍后再试；没有发出的消息请重新发送。"
# The bot is slower than the request waits: its answer follows on the live channel.
BOT_ON_ITS_WAY = "消息已收到，正在处理，回复马上就到，不用重新发送。"
IDEMPOTENCY_KEY_MISMATCH = "Idempotency-Key 与 client_message_id 不一致。"
MESSAGE_TOO_LONG = "消息太长了，请控制在 {limit} 个字以内，分几条发送也可以。"
MESSAGE_EMPTY = "消息不能为空。"
REQUEST_TOO_LARGE = "请求内容太大。"
CHAT_RATE_LIMITED = "消息发得太快了，请{seconds}秒后再试。"

ATTACHMENT_MESSAGE = "[图片]"
UPLOAD_EMPTY = "没有收到图片，请重新选择。"
UPLOAD_TOO_LARGE = "图片太大了，请上传不超过 {limit} 的图片。"
UPLOAD_BAD_TYPE = "只能上传 JPG、PNG 或 WebP 格式的图片（签购单照片或截图）。"
UPLOAD_BAD_DIMENSIONS = "图片尺寸不正常，请换一张清晰的照片或截图。"

# --- tickets and the human queue (merchant-facing) --------------------------------------------
TICKET_EVENT_TEXT = {
    "new": "已登记，排队等待人工客服",
    "assigned": "人工客服正在处理",
    "waiting_merchant": "客服在等您补充信息",
    "resolved": "已处理完毕",
    "closed": "已结束",
}
QUEUED_REMINDER = (
    "您的问题已转人工，工单号 {ticket_no}，现在排第 {position} 位，预计等待约 {wait} 分钟。"
    "您的消息客服都能看到，等待时请先保留签购单、小票和 POS 屏幕截图；"
    "在弄清楚之前，先别让顾客重复付款。"
)
QUEUED_OFFLINE = (
    "现在是非工作时间，您的工单 {ticket_no} 已登记，人工客服会在 {opening} 上班后第一时间处理。"
    "您的消息客服都能看到，请先保留签购单、小票和 POS 屏幕截图；在弄清楚之前，先别让顾客重复付款。"
)
AGENT_JOINED = "人工客服 {agent} 已接入，正在看您的情况，请稍等。"
AGENT_RELEASED = "客服 {agent} 暂时离开，您的工单 {ticket_no} 已重新排队，现在排第 {position} 位。"
AGENT_REASSIGNED = "您的问题已转给客服 {agent} 继续处理。"
AGENT_SILENT = (
    "抱歉让您久等了，刚才的客服暂时没有回复，已帮您重新排队（工单号 {ticket_no}，"
    "现在排第 {position} 位），下一位有空的客服会马上接手。"
)
HANDED_BACK = "人工客服已结束接待，接下来由自动助手继续为您服务。"
RESOLVED = "人工客服已处理完您的问题（工单号 {ticket_no}）：{note}"
RATE_PROMPT = "请给这次服务打个分吧（1 分最差，5 分最好）："
RATE_THANKS = "谢谢您的评价！还有什么想对我们说的，可以直接留言。"
RATE_COMMENT_THANKS = "收到您的留言，我们会认真看。还有其他交易要查，直接发给我就行。"
RATE_BUTTON_TITLES = {1: "1分", 2: "2分", 3: "3分", 4: "4分", 5: "5分"}
TICKET_CHANGED = "这个会话刚被其他人处理过，请刷新后再试。"
NOTHING_TO_RATE = "没有需要评价的工单。"
NOT_YOUR_SESSION = "这个会话不在你名下，请先接入。"
UNKNOWN_AGENT = "没有这个客服。"

# --- the agent console ------------------------------------------------------------------------
RESOLUTION_TEXT = {
    "explained": "已向商户解释清楚",
    "refund_arranged": "已安排退款",
    "transaction_confirmed": "已核实交易状态",
    "settlement_released": "结算款已放行",
    "no_issue_found": "核查后无异常",
    "other": "其他",
}
PRIORITY_TEXT = {1: "高", 2: "中", 3: "低"}
SESSION_STATUS_TEXT = {
    "bot": "机器人",
    "queued": "排队中",
    "agent": "人工接待中",
    "closed": "已关闭",
}
LOGIN_FAILED = "用户名或密码不对。"
LOGIN_LOCKED = "登录失败次数太多，请 {minutes} 分钟后再试。"
CSRF_FAILED = "页面已过期，请刷新后重试。"

# --- the agent console: pages and action results (agents read these) ------------------------
CONSOLE_TITLE = "DropDesk 客服工作台"
DROP_CODE_TEXT = {
    "declined": "主机拒绝",
    "reversed": "已冲正/撤销",
    "not_found": "查无交易",
    "approved_not_printed": "成功未出单",
    "settlement_pending": "待结算",
    "settled": "已结算",
    "settlement_delayed": "结算延迟",
    "duplicate_charge": "重复扣款",
    "reversal_failed": "冲正失败",
    "ambiguous": "多笔待确认",
}
CHANNEL_TEXT = {"widget": "网页", "wechat": "微信", "api": "接口"}
SENDER_TEXT = {"merchant": "商户", "bot": "机器人", "agent": "客服", "system": "系统"}
TICKET_STATUS_TEXT = {
    "new": "待接入",
    "assigned": "处理中",
    "waiting_merchant": "等商户回复",
    "resolved": "已解决",
    "closed": "已关闭",
}
ESCALATION_REASON_TEXT = {
    "merchant_request": "商户要求转人工",
    "needs_human": "需要人工核查",
    "fallback": "机器人没听懂",
    "not_solved": "商户说没解决",
}
CONSOLE_DONE = {
    "claim": "已接入，可以回复商户了。",
    "note": "备注已保存（商户看不到）。",
    "release": "已放回队列。",
    "reassign": "已转派给 {agent}。",
    "handback": "已交还给机器人。",
    "resolve": "工单 {ticket_no} 已解决，已请商户评价。",
}
CLAIMED_BY_OTHER = "{agent} 已经接入了这个会话。"
CONSOLE_TEXT_EMPTY = "内容不能为空。"
CONSOLE_TEXT_TOO_LONG = "内容太长了，请控制在 {limit} 字以内。"
CONSOLE_BOT_UNAVAILABLE = "机器人暂时不可用，请稍后再试。"
CONSOLE_NOT_FOUND = "会话不存在。"
CONSOLE_INVALID = "提交的内容有误，请检查后重试。"
LOGGED_OUT = "已退出登录。"
# Canned replies: {商户名} {参考号} {金额} {工单号} are filled from the evidence and the ticket;
# a placeholder with no value stays as it is, for the agent to complete.
CANNED_REPLIES = {
    "接入问候": "{商户名}您好，我是人工客服。已经看到您反馈的这笔 {金额} 元交易（参考号 {参考号}），正在帮您核查，请稍等。",
    "先别重复收款": "在查清楚之前，请先不要让顾客重复付款。顾客如果已被扣款，这笔钱不会丢，核实后我马上告诉您怎么处理。",
    "请发签购单": "麻烦您拍一下签购单或 POS 屏幕的照片发给我，再告诉我顾客卡号后四位，方便核对这笔 {金额} 元的交易。",
    "已成功未出单": "已核实：参考号 {参考号} 这笔 {金额} 元交易已经成功，只是 POS 机没收到结果。钱会照常结算给您，给顾客补打签购单即可，不要重复收款。",
    "重复扣款处理": "已确认顾客被重复扣款 {金额} 元。当天可以在 POS 上撤销多扣的一笔；过了当天我们会为您发起退货，3–5 个工作日原路退回顾客卡上。",
    "已提交跟进": "这笔交易已提交清算部门核查，工单号 {工单号}。一般 1–3 个工作日有结果，有进展我们第一时间通知您。",
    "处理完毕": "您的问题已处理好（工单号 {工单号}）。以后遇到掉单随时找我们，祝您生意兴隆！",
}
TXN_TYPE_TEXT = {"sale": "消费", "void": "撤销", "refund": "退货"}
REVERSAL_STATUS_TEXT = {"none": "无", "reversed": "冲正成功", "failed": "冲正失败"}
SETTLEMENT_STATUS_TEXT = {
    "unsettled": "未结算",
    "settled": "已结算",
    "failed": "出款失败",
    "held": "风控暂缓",
}
HISTORY_NOTE_TEXT = {
    "release": "放回队列",
    "handback": "交还机器人",
    "resolve": "已解决",
    "claim": "接入",
    "agent_silent": "客服久未回复，自动重新排队",
    **ESCALATION_REASON_TEXT,
}
ACTOR_TEXT = {"bot": "机器人", "system": "系统", "merchant": "商户"}
# WeChat official account (公众号).
WECHAT_WELCOME = (
    "您好，欢迎关注！我是掉单助手，刷卡显示失败、钱没到账、重复扣款都可以问我。\n"
    "查交易前请先绑定商户号：在商户后台点「绑定微信」拿到6位绑定码，然后发送「绑定 123456」。"
)
WECHAT_HOW_TO_BIND = "在商户后台点「绑定微信」拿到6位绑定码，然后在这里发送「绑定 123456」（换成您的绑定码），10分钟内有效。"
WECHAT_NEEDS_BINDING = (
    "查交易、转人工需要先绑定商户号。{how}\n网络、机具、到账时间这类一般问题可以直接问我。"
)
WECHAT_BOUND = "绑定成功：{merchant}。现在可以直接告诉我哪笔交易有问题了。"
WECHAT_BIND_WRONG = "绑定码不对，请核对后重新发送。"
WECHAT_BIND_EXPIRED = "这个绑定码已过期，请在商户后台重新获取。"
WECHAT_BIND_USED = "这个绑定码已经用过了，请在商户后台重新获取。"
WECHAT_BIND_CODE_THROTTLED = "获取绑定码太频繁了，请过几分钟再试。"
WECHAT_BIND_LOCKED = "绑定码错误次数太多，请15分钟后再试。"
WECHAT_UNBOUND = "已解绑。以后查交易需要重新绑定。"
WECHAT_NOT_BOUND = "您还没有绑定商户号。"
WECHAT_VOICE_UNREADABLE = "抱歉，我听不清这段语音，请直接打字告诉我。"
WECHAT_UNSUPPORTED = "抱歉，这类消息我还看不懂，请用文字描述，或发签购单、POS 屏幕的照片。"
WECHAT_PHOTO_NEEDS_BINDING = "收到照片了。绑定商户号后发的照片才能作为凭证加到您的工单里。"
WECHAT_PHOTO_FAILED = "照片没能保存，请重新发一次。"
WECHAT_PHOTO_RECEIVED = "照片已收到，已作为凭证保存。"
WECHAT_CHOICE_HINT = "回复数字即可选择："
WECHAT_UNREACHABLE = {
    "window_closed": "商户超过48小时没有在微信上发消息，微信上已无法联系到商户",
    "quota": "发给商户的客服消息已达微信的条数上限，微信上暂时无法联系到商户",
    "unsubscribed": "商户已取消关注公众号，微信上已无法联系到商户",
}
