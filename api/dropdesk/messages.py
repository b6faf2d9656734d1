"""Service-side text (Chinese for merchants and agents); bot text lives in the Rasa domain."""

from __future__ import annotations

RESPONSE_CODES: dict[str, str] = {
    "00": "交易成功",
    "05": "发卡行不予承兑",
    "12": "无效交易",
    "14": "无效卡号",
    "25": "找不到原始交易",
    "51": "卡内余额不足",
    "54": "卡片已过期",
    "55": "密码错误",
    "61": "超出单笔或单日限额",
    "68": "发卡行应答超时",
    "91": "发卡行系统暂不可用",
    "94": "重复交易",
    "96": "系统故障",
    "98": "发卡行无应答(超时)",
    "A0": "MAC校验错, 终端需重新签到",
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
}

BOT_UNAVAILABLE = (
    "抱歉，系统暂时繁忙，您的消息已经收到并保存。请稍等一两分钟再发一次，我们会接着处理。"
)
MESSAGE_TOO_LONG = "消息太长了，请控制在 {limit} 个字以内，分几条发送也可以。"
MESSAGE_EMPTY = "消息不能为空。"
REQUEST_TOO_LARGE = "请求内容太大。"

ATTACHMENT_MESSAGE = "[图片]"
UPLOAD_EMPTY = "没有收到图片，请重新选择。"
UPLOAD_TOO_LARGE = "图片太大了，请上传不超过 {limit} 的图片。"
UPLOAD_BAD_TYPE = "只能上传 JPG、PNG 或 WebP 格式的图片（签购单照片或截图）。"
UPLOAD_BAD_DIMENSIONS = "图片尺寸不正常，请换一张清晰的照片或截图。"
