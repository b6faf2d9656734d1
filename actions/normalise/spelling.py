"""Fold what merchants type on phones into the words the bot knows, character for character.

Traditional characters become simplified ones (OpenCC's t2s tables), a reference read out digit
by digit becomes digits, and the usual pinyin-IME
slips in this trade become the word meant: 掉担 -> 掉单, 参考好 -> 参考号, 凭正号 -> 凭证号,
到帐 -> 到账, 充正 -> 冲正, 撤消 -> 撤销, 退或 -> 退货. Every replacement keeps the length, so a
position in the folded text is the same position in what the merchant wrote (the NLU's
entity spans and the actions' parsers can read either).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# Homophones and near-misses of the pinyin IME, as merchants type them. Same length each.
SLIPS = {
    "掉担": "掉单", "掉丹": "掉单", "吊单": "掉单",
    "参考好": "参考号", "参靠号": "参考号", "参考浩": "参考号",
    "凭正号": "凭证号", "凭证好": "凭证号", "评证号": "凭证号",
    "流水好": "流水号", "订单好": "订单号",
    "到帐": "到账", "入帐": "入账", "进帐": "进账",
    "充正": "冲正", "冲证": "冲正",
    "撤消": "撤销",
    "退或": "退货", "推货": "退货",
    "刷咔": "刷卡", "扣宽": "扣款", "扣欵": "扣款",
    "小漂": "小票", "签够单": "签购单", "前购单": "签购单",
}  # fmt: skip
_SLIP = re.compile("|".join(sorted(map(re.escape, SLIPS), key=len, reverse=True)))
assert all(len(k) == len(v) for k, v in SLIPS.items())


@cache
def _t2s() -> Any:
    from opencc import OpenCC  # type: ignore[import-untyped,import-not-found,unused-ignore]

    return OpenCC("t2s")


def _simplified(text: str) -> str:
    folded = str(_t2s().convert(text))
    if len(folded) == len(text):
        return folded
    # A phrase table changed the length: fall back to one character at a time.
    return "".join(ch if len(s := str(_t2s().convert(ch))) != 1 else s for ch in text)


# A reference read out digit by digit (六一三三一一零零零四一五, 幺 for 一): six or more digit
# characters in a row with no unit among them, as no amount or time is written.
_SPELLED_DIGITS = re.compile(r"[零〇洞幺一二两三四五六七八九]{6,}")
_DIGIT = str.maketrans("零〇洞幺一二两三四五六七八九", "00011223456789")


def fold(text: str) -> str:
    """The text in simplified characters with typing slips mended and spelled-out references in
    digits; same length as given."""
    if not text:
        return text
    folded = _SLIP.sub(lambda m: SLIPS[m.group()], _simplified(text))
    return _SPELLED_DIGITS.sub(lambda m: m.group().translate(_DIGIT), folded)
