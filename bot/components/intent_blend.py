"""A linear intent classifier over words, characters and parts of speech, blended with DIET.

DIET alone reaches about 0.93 intent macro-F1 in 5-fold cross-validation on our data; a linear
SVM over tf-idf n-grams reaches about 0.94 and makes different mistakes (it is better on short
social turns with unseen words, DIET on long run-on reports), so the two are averaged.
This component runs after DIETClassifier: it reads DIET's intent ranking, adds its own
probabilities (a softmax of the SVM margins) and writes back the blended intent and ranking,
which the FallbackClassifier after it then judges.

Parts of speech come from Jieba's dictionary (with our domain words): they let the model
generalise from 嗯嗯/哈哈 to 呵呵 (interjections) or from 你几岁 to 你住哪 (pronoun + question).
Word classes come from the training data's lookup tables (data/nlu/lexicon.yml): an appliance no
example names (豆浆机坏了) is still a home appliance, not a broken terminal.
The trained model is stored as JSON and NumPy arrays, not pickles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize


def words(message: Message) -> str:
    """The message's tokens (from the pipeline's tokenizer), space separated."""
    return " ".join(token.text.lower() for token in message.get(TOKENS_NAMES[TEXT]) or [])


def parts_of_speech(message: Message) -> str:
    """Jieba's part-of-speech tags for the message, space separated: 呵呵 -> "y"."""
    import jieba.posseg

    return " ".join(pair.flag for pair in jieba.posseg.cut(message.get(TEXT) or "", HMM=False))


def text(message: Message) -> str:
    return str(message.get(TEXT) or "").lower()


# Each channel: what it reads, and how it cuts that into n-grams. Tf-idf per channel.
CHANNELS: dict[str, tuple[Any, dict[str, Any]]] = {
    "words": (words, {"tokenizer": str.split, "token_pattern": None, "ngram_range": (1, 2)}),
    "chars": (text, {"analyzer": "char_wb", "ngram_range": (1, 4)}),
    "pos": (
        parts_of_speech,
        {"tokenizer": str.split, "token_pattern": None, "ngram_range": (1, 2), "lowercase": False},
    ),
    # Read with the trained lexicon (see `read`), not by a function of the message alone.
    "lexicon": (None, {"tokenizer": str.split, "token_pattern": None, "lowercase": False}),
}


@dataclass
class Channel:
    """Sublinear tf-idf over one view of the message, with a fixed vocabulary once trained."""

    name: str
    vocabulary: dict[str, int] = field(default_factory=dict)
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Built once per trained vocabulary: sklearn re-validates a given vocabulary on every new
    # vectorizer (36k character n-grams), which was most of a turn's time in this component.
    _counter: CountVectorizer | None = field(default=None, init=False, repr=False)

    def fit(self, docs: list[str]) -> sparse.csr_matrix:
        if not any(doc.strip() for doc in docs):  # e.g. no lookup tables: nothing to learn here
            self.restore({}, np.zeros(0))
            return sparse.csr_matrix((len(docs), 0))
        self._counter = CountVectorizer(**CHANNELS[self.name][1])
        counts = self._counter.fit_transform(docs)
        self.vocabulary = {term: int(i) for term, i in self._counter.vocabulary_.items()}
        document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf = np.log((1 + counts.shape[0]) / (1 + document_frequency)) + 1
        return self._weigh(counts)

    def restore(self, vocabulary: dict[str, int], idf: np.ndarray) -> None:
        """Take back a trained vocabulary and its idf weights (from the stored model)."""
        self.vocabulary, self.idf = vocabulary, idf
        self._counter = (
            CountVectorizer(vocabulary=vocabulary, **CHANNELS[self.name][1]) if vocabulary else None
        )

    def transform(self, docs: list[str]) -> sparse.csr_matrix:
        if self._counter is None:  # untrained, or trained on nothing: no columns
            return sparse.csr_matrix((len(docs), 0))
        return self._weigh(self._counter.transform(docs))

    def _weigh(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        weights = counts.astype(np.float64).tocsr()
        weights.data = 1 + np.log(weights.data)
        return normalize(weights.multiply(self.idf).tocsr())


def lexicon_classes(message: Message, lexicon: dict[str, list[str]]) -> str:
    """The word classes (lookup tables) a message mentions: 洗衣机坏了 -> "lex:home_appliance"."""
    content = text(message)
    return " ".join(
        f"lex:{name}" for name, words in lexicon.items() if any(w in content for w in words)
    )


def read(channel: str, messages: list[Message], lexicon: dict[str, list[str]]) -> list[str]:
    if channel == "lexicon":
        return [lexicon_classes(message, lexicon) for message in messages]
    return [CHANNELS[channel][0](message) for message in messages]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentBlend(IntentClassifier, GraphComponent):
    """Blend a linear SVM's intent probabilities into DIET's ranking."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "C": 1.0,  # SVM regularisation
            "temperature": 0.1,  # softmax over SVM margins: lower is more peaked
            "weight": 0.5,  # share of the linear model in the blend; DIET has the rest
            "ranking_length": 10,
        }

    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.channels = [Channel(name) for name in CHANNELS]
        self.intents: list[str] = []
        # Word classes from the training data's lookup tables, lower-cased.
        self.lexicon: dict[str, list[str]] = {}
        self.coef = np.zeros((0, 0))
        self.intercept = np.zeros(0)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentBlend:
        return cls(config, model_storage, resource)

    # --- training ------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.svm import LinearSVC

        examples = [m for m in training_data.intent_examples if m.get(INTENT) and m.get(TEXT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            return self._resource
        self.lexicon = {
            table["name"]: [str(word).lower() for word in table["elements"]]
            for table in training_data.lookup_tables
            if isinstance(table.get("elements"), list)
        }
        features = sparse.hstack(
            [channel.fit(read(channel.name, examples, self.lexicon)) for channel in self.channels]
        ).tocsr()
        svm = LinearSVC(C=self.config["C"], random_state=42)
        svm.fit(features, [m.get(INTENT) for m in examples])
        self.intents = [str(name) for name in svm.classes_]
        self.coef, self.intercept = np.asarray(svm.coef_), np.asarray(svm.intercept_)
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            vocabularies = {c.name: c.vocabulary for c in self.channels}
            (directory / "linear_intents.json").write_text(
                json.dumps(
                    {
                        "intents": self.intents,
                        "vocabularies": vocabularies,
                        "lexicon": self.lexicon,
                    },
                    ensure_ascii=False,
                ),
                encoding="utf-8",
            )
            np.savez(
                directory / "linear_intents.npz",
                coef=self.coef,
                intercept=self.intercept,
                **{f"idf_{c.name}": c.idf for c in self.channels},
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentBlend:
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / "linear_intents.json").read_text("utf-8"))
                with np.load(directory / "linear_intents.npz") as arrays:
                    component.coef, component.intercept = arrays["coef"], arrays["intercept"]
                    for channel in component.channels:
                        channel.restore(
                            meta["vocabularies"][channel.name], arrays[f"idf_{channel.name}"]
                        )
                component.intents = meta["intents"]
                component.lexicon = meta["lexicon"]
        except ValueError:  # nothing was trained (fewer than two intents)
            pass
        return component

    # --- prediction ----------------------------------------------------------------

    def probabilities(self, messages: list[Message]) -> np.ndarray:
        """One row per message: a softmax over the SVM margins, in ``self.intents`` order."""
        features = sparse.hstack(
            [
                channel.transform(read(channel.name, messages, self.lexicon))
                for channel in self.channels
            ]
        ).tocsr()
        margins = (features @ self.coef.T + self.intercept) / self.config["temperature"]
        margins -= margins.max(axis=1, keepdims=True)
        exp = np.exp(margins)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def process(self, messages: list[Message]) -> list[Message]:
        spoken = [m for m in messages if m.get(TEXT)]
        if not self.intents or not spoken:
            return messages
        weight = float(self.config["weight"])
        for message, row in zip(spoken, self.probabilities(spoken), strict=True):
            blend = {name: weight * float(p) for name, p in zip(self.intents, row, strict=True)}
            for ranked in message.get(INTENT_RANKING_KEY) or []:
                name = ranked["name"]
                blend[name] = blend.get(name, 0.0) + (1 - weight) * float(ranked["confidence"])
            ranking = [
                {"name": name, "confidence": confidence}
                for name, confidence in sorted(blend.items(), key=lambda item: -item[1])
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(
                INTENT_RANKING_KEY, ranking[: self.config["ranking_length"]], add_to_output=True
            )
        return messages
