"""Blank out identifiers, dates, times and counts so they are not read as amounts."""

from __future__ import annotations

import re

from ._cards import find_cards
from ._text import CN_NUM

MASK = "_"
_N = rf"[0-9{CN_NUM}]"

# Labels that introduce an identifier, not money. Longer labels first.
ID_LABELS = (
    "检索参考号|系统参考号|参考编号|参考号|凭证号|流水号|追踪号|商户订单号|交易订单号|订单编号"
    "|订单号|交易单号|商户单号|交易号|单号|订单|授权码|授权号|批次号|终端编号|终端号|商户编号"
    "|商户号|手机号|手机|电话|卡尾号|卡号|尾号|尾数|后四位|末四位|后4位|末4位|rrn|trace"
)
_ID_FILLER = r"(?:是|为|:|\s|#|后四位|末四位|号码|应该|其实|改成|改为|就)*"

_PATTERNS = (
    # Support tickets, labelled or not: 工单号DD-20261203-0007, T20261202008.
    r"(?:工单|投诉单|服务单)?(?:编号|号码|号)?(?:是|为|:|\s)*"
    r"(?:(?<![0-9a-z])dd-\d{8}-\d{4,}(?!\d)|(?<![0-9a-z])t20\d{8,12}(?![0-9a-z]))",
    # Labelled identifiers, including values grouped in fours: 参考号 1234 5678 9012.
    # Only a short first group starts a grouped value: 参考号613301000301 1280 ends at 0301.
    rf"(?:{ID_LABELS}){_ID_FILLER}"
    rf"(?:[0-9a-z]{{1,6}}(?:[\s-][0-9a-z]{{4}}(?![0-9a-z]))+|[0-9a-z]+)",
    # Masked card numbers: 622202******1234, 6222 **** **** 1234.
    r"\d{0,6}\s*(?:[*x•]{2,}\s*)+\d{0,4}",
    # Dates.
    r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}[日号]?",
    r"\d{4}年",
    rf"{_N}{{1,3}}月(?:{_N}{{1,3}}[日号]?)?",
    rf"{_N}{{1,3}}[日号](?!码)",
    r"(?<![\d.])\d{1,2}[-/]\d{1,2}(?![\d.])",
    r"(?:上上|上个?)?(?:周|星期|礼拜)[一二三四五六日天1-7]",
    # Clock times; 三点五元 stays an amount.
    r"\d{1,2}:\d{2}(?::\d{2})?",
    rf"{_N}+[点时](?!{_N}*(?:元|块|毛|角))(?:钟|半|整|[一三]刻|(?:\d{{1,2}}(?!\d)|[{CN_NUM}]{{1,3}})分?)?",
    # Durations and relative times.
    rf"(?:{_N}+个?半?|半个?)(?:分钟|秒钟?|小时|钟头|天|星期|礼拜|月|年)",
    rf"{_N}+周",
    # Counts: 两次, 扣了两笔, 3张.
    rf"{_N}+(?:次|笔|张|个|台|遍|下|单|人|位|家|条|岁)",
    # A balance in a bank SMS is not the sale: 余额1,234.56元.
    r"(?:可用)?余额(?:为|是|:|\s|¥)*[\d,.]+(?:元)?",
    # Percentages and unlabelled mobile numbers.
    r"\d+(?:\.\d+)?%",
    r"(?<!\d)1[3-9]\d{9}(?!\d)",
    # Support ticket numbers: DD-20261203-0007.
    r"(?<![0-9a-z])dd-\d{8}-\d{4,}(?!\d)",
    # Alphanumeric tokens mixing letters and digits (order ids, RRNs with letters).
    r"(?<![0-9a-z])(?=[0-9a-z]*[a-z])(?=[0-9a-z]*\d)[0-9a-z]+",
)
_MASKER = re.compile("|".join(f"(?:{p})" for p in _PATTERNS))


def mask_non_amounts(text: str) -> str:
    """Replace every non-amount number span in lowercased text with MASK characters."""
    for card in find_cards(text):
        text = text[: card.start] + MASK * (card.end - card.start) + text[card.end :]
    return _MASKER.sub(lambda m: MASK * len(m.group()), text)
