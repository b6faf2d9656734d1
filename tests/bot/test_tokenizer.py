"""DropDeskTokenizer: Jieba without invented words, numbers kept whole."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.tokenizer import DropDeskTokenizer


def words(tokenizer: DropDeskTokenizer, text: str) -> list[str]:
    return [t.text for t in tokenizer.tokenize(Message(data={"text": text}), "text")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("９９９元", ["９９９", "元"]),
        ("晚上七点１２８元", ["晚上", "七点", "１２８", "元"]),
        ("1,500元", ["1,500", "元"]),
        ("参考号：６１２３０００００００６", ["参考号", "：", "６１２３０００００００６"]),
        ("2023-11-20 14:05金额320.00", ["2023-11-20", "14:05", "金额", "320.00"]),
        ("三百二的", ["三百二", "的"]),
        ("八百八十八", ["八百八十八"]),
        ("刷了六百八十块钱", ["刷", "了", "六百八十", "块", "钱"]),  # Jieba: 六|百八十块
        ("两千三百元整", ["两千三百", "元", "整"]),  # Jieba: 两千|三百元
        ("一清机", ["一清机"]),  # a word that merely starts with a numeral stays whole
    ],
)
def test_numbers_stay_whole(tokenizer: DropDeskTokenizer, text: str, expected: list[str]) -> None:
    assert words(tokenizer, text) == expected


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("今早九点多刷的一笔四百六说失败了", "四百六"),
        ("今早九点多刷的一笔四百六说失败了", "九点多"),
        ("刚刚十分钟前刷的85块", "十分钟前"),
        ("一百五付的款", "一百五"),
    ],
)
def test_entity_boundaries_fall_between_tokens(
    tokenizer: DropDeskTokenizer, text: str, entity: str
) -> None:
    """Plain Jieba's HMM invents 多刷 / 六说 / 前刷 / 五付 across the entity's edge."""
    tokens = tokenizer.tokenize(Message(data={"text": text}), "text")
    start = text.index(entity)
    end = start + len(entity)
    assert start in {t.start for t in tokens}
    assert end in {t.end for t in tokens}


def test_offsets_point_into_the_text(tokenizer: DropDeskTokenizer) -> None:
    text = "参考号612300000001 今天下午三点 ￥320.50 pos机掉单"
    tokens = tokenizer.tokenize(Message(data={"text": text}), "text")
    assert all(text[t.start : t.end] == t.text for t in tokens)
    assert "".join(t.text for t in tokens) == text.replace(" ", "")
