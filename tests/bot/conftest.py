"""Fixtures shared by the bot-runtime tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource

from bot.components.tokenizer import DropDeskTokenizer

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> DropDeskTokenizer:
    """Our tokenizer with the project's jieba dictionary, as the trained model has it."""
    config = {**DropDeskTokenizer.get_default_config(), "dictionary_path": str(ROOT / "bot/jieba")}
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    return DropDeskTokenizer.create(config, storage, Resource("tokenizer"), None)  # type: ignore[arg-type]
