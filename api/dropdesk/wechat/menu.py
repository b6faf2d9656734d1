"""The account menu: 报告掉单, 查工单进度, 转人工, 绑定商户号 (CLICK keys)."""

from __future__ import annotations

import enum
from typing import Any


class Click(enum.StrEnum):
    REPORT_DROP = "REPORT_DROP"
    TICKET_STATUS = "TICKET_STATUS"
    HUMAN = "HUMAN"
    BIND = "BIND"


# What a CLICK means in the conversation: the bot's own intent payloads.
CLICK_TEXT = {
    Click.REPORT_DROP: "/report_drop",
    Click.TICKET_STATUS: "/ask_ticket_status",
    Click.HUMAN: "/request_human",
    Click.BIND: "",
}

MENU: dict[str, Any] = {
    "button": [
        {"type": "click", "name": "报告掉单", "key": Click.REPORT_DROP.value},
        {"type": "click", "name": "查工单进度", "key": Click.TICKET_STATUS.value},
        {
            "name": "更多",
            "sub_button": [
                {"type": "click", "name": "转人工", "key": Click.HUMAN.value},
                {"type": "click", "name": "绑定商户号", "key": Click.BIND.value},
            ],
        },
    ]
}
