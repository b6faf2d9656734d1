"""Summarise `rasa test nlu` reports against the targets: intent macro-F1, entity F1, accuracy.

Usage: python bench/nlu_report.py CROSSVAL_DIR HELDOUT_DIR [HELDOUT_DIR ...]
Entity F1 is micro-averaged over entity labels, each scored on the extractor that owns it in
bot/config.yml: the regex extractor for identifiers, DIET for amounts and times.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REGEX_LABELS = {"order_ref", "card_last4", "response_code"}
SKIP = {"accuracy", "macro avg", "micro avg", "weighted avg", "no_entity"}


def entity_f1(folder: Path) -> tuple[float, dict[str, float]]:
    """Micro F1 over labels, each from its owning extractor's report."""
    reports = {
        "regex": json.loads((folder / "RegexEntityExtractor_report.json").read_text()),
        "diet": json.loads((folder / "DIETClassifier_report.json").read_text()),
    }
    true_pos = predicted = actual = 0.0
    per_label: dict[str, float] = {}
    labels = {k for r in reports.values() for k in r if k not in SKIP}
    for label in sorted(labels):
        row = reports["regex" if label in REGEX_LABELS else "diet"].get(label)
        if not row or not row.get("support"):
            continue
        tp = row["recall"] * row["support"]
        true_pos += tp
        actual += row["support"]
        predicted += tp / row["precision"] if row["precision"] else 0.0
        per_label[label] = row["f1-score"]
    f1 = 2 * true_pos / (actual + predicted) if actual + predicted else 0.0
    return f1, per_label


def main() -> int:
    crossval, heldouts = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    intents = json.loads((crossval / "intent_report.json").read_text())
    macro = intents["macro avg"]["f1-score"]
    ent, per_label = entity_f1(crossval)
    print(f"5-fold cross-validation: intent macro-F1 {macro:.3f} (target >= 0.95)")
    print(
        f"5-fold cross-validation: entity F1 {ent:.3f} (target >= 0.95)  "
        + ", ".join(f"{k} {v:.3f}" for k, v in per_label.items())
    )
    scores = [macro, ent]
    for folder in heldouts:
        held = json.loads((folder / "intent_report.json").read_text())
        support = held["macro avg"]["support"]
        scores.append(held["accuracy"])
        print(
            f"held-out {folder.name} ({support} utterances): intent accuracy "
            f"{held['accuracy']:.3f} (target >= 0.95)"
        )
    return 0 if min(scores) >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
