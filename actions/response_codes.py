"""Meanings of ISO 8583 field 39 response codes, in merchant words."""

from __future__ import annotations

import re
from typing import NamedTuple


class ResponseCode(NamedTuple):
    meaning: str
    advice: str


RESPONSE_CODES: dict[str, ResponseCode] = {
    "00": ResponseCode("交易成功", "这笔是成功的，不要让顾客重复付款。"),
    "05": ResponseCode("发卡行拒绝（不予承兑）", "请顾客换张卡，或联系自己的发卡银行。"),
    "12": ResponseCode("无效交易", "这张卡不支持这种交易，换卡或改用扫码支付。"),
    "14": ResponseCode("无效卡号", "卡号有问题，请顾客换张卡。"),
    "25": ResponseCode("找不到原始交易", "撤销或退货时找不到原交易，请核对凭证号和交易日期。"),
    "51": ResponseCode("余额不足", "顾客卡里钱不够，请换卡或换种方式付款。"),
    "54": ResponseCode("卡片已过期", "请顾客换张有效期内的卡。"),
    "55": ResponseCode("密码错误", "请顾客重新输入密码，连续输错卡会被锁。"),
    "61": ResponseCode("超出金额限制", "超过了单笔或单日限额，换卡或分开付款。"),
    "68": ResponseCode("银行响应超时", "结果不确定，先别让顾客重付，把时间和金额发给我查一下。"),
    "91": ResponseCode("发卡行暂时联系不上", "银行系统暂时不可用，过几分钟再试或换卡。"),
    "94": ResponseCode("重复交易", "这笔可能已经提交过，先查一下是否成功，别重复收款。"),
    "96": ResponseCode("系统故障", "收单系统出错，稍后再试；一直出现请转人工。"),
    "98": ResponseCode(
        "发卡行没有应答（超时）", "结果不确定，先别让顾客重付，发时间和金额给我查。"
    ),
    "A0": ResponseCode("MAC 校验错误", "在 POS 机上重新签到后再交易。"),
}

_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{2}|[Aa]0)(?![0-9A-Za-z])")


def find_code(text: str) -> str | None:
    """Find a two-character response code in free text."""
    match = _CODE_IN_TEXT.search(text)
    return match.group(1).upper() if match else None


def explain(code: str) -> ResponseCode | None:
    """Return the meaning and advice for a code, if we know it."""
    return RESPONSE_CODES.get(code.strip().upper())
