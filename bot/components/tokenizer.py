"""Jieba tokenisation that keeps numbers and amounts whole.

Plain Jieba (as in Rasa's JiebaTokenizer) has two habits that hurt entity extraction here:
- its HMM invents words across entity boundaries: 九点多刷 -> 九点|多刷, 四百六说 -> 四百|六说;
- it splits full-width digits one by one (１|２|８|元) and Chinese numerals into pieces
  (三百|二, 八百|八十八), so an amount becomes several unrelated tokens.
This tokenizer turns the HMM off (the domain dictionary in bot/jieba covers our words) and
merges runs of digits (with their , . : - / separators) and runs of Chinese numerals.
"""

from __future__ import annotations

import re

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from actions.normalise import spelling

_DIGITS = "0-9０-９"
_NUMBER = re.compile(rf"[{_DIGITS}]+(?:[,，.．:：\-/][{_DIGITS}]+)*")
_CN_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万]+")
_UNITS = frozenset("块元钱毛角")  # 六|百八十块, 一|八块: the numerals belong to the number before


def spans(text: str, words: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """Merge Jieba's (word, start, end) triples into token spans.

    A token that falls entirely inside a number (digits with separators) is merged with its
    neighbours in that number; adjacent tokens made only of Chinese numerals are merged, and a
    word that continues a numeral with more numerals gives them up: 六|百八十块 -> 六百八十|块,
    两千|三百元 -> 两千三百|元 (but 万|一直 stays: 一直 is a word).
    """
    numbers = [m.span() for m in _NUMBER.finditer(text)]
    merged: list[tuple[int, int]] = []
    for _, start, end in words:
        if not text[start:end].strip():
            continue
        if merged:
            prev_start, prev_end = merged[-1]
            same_number = any(s <= prev_start and end <= e for s, e in numbers)
            after_numeral = prev_end == start and _CN_NUMERAL.fullmatch(text, prev_start, prev_end)
            if same_number or (after_numeral and _CN_NUMERAL.fullmatch(text, start, end)):
                merged[-1] = (prev_start, end)
                continue
            lead = _CN_NUMERAL.match(text, start, end)
            if (
                after_numeral
                and lead
                and (len(lead.group()) > 1 or text[lead.end() : end][:1] in _UNITS)
            ):
                merged[-1] = (prev_start, lead.end())
                merged.append((lead.end(), end))
                continue
        merged.append((start, end))
    return merged


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class DropDeskTokenizer(JiebaTokenizer):
    """JiebaTokenizer without HMM word discovery, keeping numbers whole."""

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        import jieba

        # Traditional characters and typing slips are folded first (same length, so every
        # token's offsets still point into what the merchant wrote).
        text: str = spelling.fold(message.get(attribute))
        words = list(jieba.tokenize(text, HMM=False))
        tokens = [Token(text[start:end], start, end) for start, end in spans(text, words)]
        return self._apply_token_pattern(tokens)
