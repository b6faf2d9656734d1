"""LinearIntentBlend: trained on our data, stored without pickles, blended into DIET's ranking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.intent_blend import LinearIntentBlend, lexicon_classes
from bot.components.tokenizer import DropDeskTokenizer

from .conftest import ROOT


@pytest.fixture(scope="module")
def nlu_data() -> TrainingData:
    return load_data(str(ROOT / "data" / "nlu"))


@pytest.fixture(scope="module")
def trained(
    tokenizer: DropDeskTokenizer, tmp_path_factory: pytest.TempPathFactory, nlu_data: TrainingData
) -> tuple[LocalModelStorage, Resource]:
    tokenizer.process_training_data(nlu_data)
    storage = LocalModelStorage(tmp_path_factory.mktemp("blend"))
    resource = Resource("blend")
    LinearIntentBlend.create({}, storage, resource, None).train(nlu_data)  # type: ignore[arg-type]
    return storage, resource


def classify(
    trained: tuple[LocalModelStorage, Resource],
    tokenizer: DropDeskTokenizer,
    text: str,
    diet: list[dict[str, Any]] | None = None,
    **config: Any,
) -> Message:
    storage, resource = trained
    blend = LinearIntentBlend.load(config, storage, resource, None)  # type: ignore[arg-type]
    message = Message(data={"text": text})
    tokenizer.process([message])
    if diet is not None:
        message.set("intent", diet[0])
        message.set("intent_ranking", diet)
    blend.process([message])
    return message


def test_the_stored_model_is_json_and_arrays(trained: tuple[LocalModelStorage, Resource]) -> None:
    storage, resource = trained
    with storage.read_from(resource) as directory:
        assert sorted(p.name for p in Path(directory).iterdir()) == [
            "linear_intents.json",
            "linear_intents.npz",
        ]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我的pos机刷卡显示失败但是顾客说扣钱了", "report_drop"),
        ("转人工", "request_human"),
        ("你好", "greet"),
        ("网络老是断怎么办", "ask_network"),
    ],
)
def test_the_reloaded_model_classifies_alone(
    trained: tuple[LocalModelStorage, Resource],
    tokenizer: DropDeskTokenizer,
    text: str,
    intent: str,
) -> None:
    message = classify(trained, tokenizer, text)
    assert message.get("intent")["name"] == intent
    ranking = message.get("intent_ranking")
    assert len(ranking) == 10
    assert ranking[0]["confidence"] > ranking[1]["confidence"]
    assert 0 < sum(r["confidence"] for r in ranking) <= 1 + 1e-9


def test_the_blend_weighs_diet_and_the_linear_model(
    trained: tuple[LocalModelStorage, Resource], tokenizer: DropDeskTokenizer
) -> None:
    diet = [{"name": "greet", "confidence": 0.9}, {"name": "thank", "confidence": 0.1}]
    assert classify(trained, tokenizer, "转人工", diet, weight=1.0).get("intent")["name"] == (
        "request_human"
    )
    only_diet = classify(trained, tokenizer, "转人工", diet, weight=0.0).get("intent")
    assert only_diet == {"name": "greet", "confidence": pytest.approx(0.9)}

    storage, resource = trained
    model = LinearIntentBlend.load({}, storage, resource, None)  # type: ignore[arg-type]
    message = Message(data={"text": "转人工"})
    tokenizer.process([message])
    linear = dict(zip(model.intents, model.probabilities([message])[0], strict=True))
    half = classify(trained, tokenizer, "转人工", diet, weight=0.5).get("intent_ranking")
    blended = {r["name"]: r["confidence"] for r in half}
    assert blended["request_human"] == pytest.approx(0.5 * linear["request_human"])
    assert blended["greet"] == pytest.approx(0.45 + 0.5 * linear["greet"])


def test_the_lexicon_names_the_word_classes_a_message_mentions() -> None:
    lexicon = {"home_appliance": ["洗衣机", "冰箱"], "weather": ["下雨"]}
    assert lexicon_classes(Message(data={"text": "家里洗衣机不转了"}), lexicon) == (
        "lex:home_appliance"
    )
    assert lexicon_classes(Message(data={"text": "下雨天冰箱也坏了"}), lexicon) == (
        "lex:home_appliance lex:weather"
    )
    assert lexicon_classes(Message(data={"text": "pos机刷不了卡"}), lexicon) == ""


def test_the_stored_model_keeps_the_lexicon_of_the_lookup_tables(
    trained: tuple[LocalModelStorage, Resource], nlu_data: TrainingData
) -> None:
    storage, resource = trained
    model = LinearIntentBlend.load({}, storage, resource, None)  # type: ignore[arg-type]
    tables = {t["name"]: t["elements"] for t in nlu_data.lookup_tables}
    assert model.lexicon == tables
    assert "豆浆机" in model.lexicon["home_appliance"]


@pytest.mark.parametrize("text", ["豆浆机不出浆了怎么办", "破壁机转不动了"])
def test_an_appliance_no_example_names_leans_to_out_of_scope_through_its_word_class(
    trained: tuple[LocalModelStorage, Resource],
    tokenizer: DropDeskTokenizer,
    nlu_data: TrainingData,
    text: str,
) -> None:
    # Neither word is in any training example: only the home_appliance class tells them apart
    # from a broken terminal (ask_hardware).
    examples = " ".join(m.get("text") for m in nlu_data.intent_examples)
    assert "豆浆机" not in examples and "破壁机" not in examples
    storage, resource = trained
    model = LinearIntentBlend.load({}, storage, resource, None)  # type: ignore[arg-type]
    message = Message(data={"text": text})
    tokenizer.process([message])
    out_of_scope = model.intents.index("out_of_scope")
    with_classes = model.probabilities([message])[0][out_of_scope]
    model.lexicon = {}
    without_classes = model.probabilities([message])[0][out_of_scope]
    assert with_classes > 2 * without_classes


def test_an_unseen_appliance_reads_as_out_of_scope(
    trained: tuple[LocalModelStorage, Resource], tokenizer: DropDeskTokenizer
) -> None:
    assert classify(trained, tokenizer, "豆浆机不出浆了怎么办").get("intent")["name"] == (
        "out_of_scope"
    )


def test_training_without_lookup_tables_leaves_the_lexicon_channel_empty(
    tokenizer: DropDeskTokenizer, tmp_path: Path
) -> None:
    data = load_data(str(ROOT / "data" / "nlu" / "smalltalk.yml"))
    assert not data.lookup_tables
    tokenizer.process_training_data(data)
    storage, resource = LocalModelStorage(tmp_path), Resource("bare")
    LinearIntentBlend.create({}, storage, resource, None).train(data)  # type: ignore[arg-type]
    model = LinearIntentBlend.load({}, storage, resource, None)  # type: ignore[arg-type]
    assert model.lexicon == {}
    message = Message(data={"text": "再见"})
    tokenizer.process([message])
    model.process([message])
    assert message.get("intent")["name"] == "goodbye"
