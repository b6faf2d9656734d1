"""`rasa test nlu --cross-validation` with reproducible folds (run it with the bot runtime).

Rasa 3.6 splits the folds with StratifiedKFold(shuffle=True) and no random_state, so numpy's
global generator decides them and two runs of the same data differ by about ±0.002 macro-F1.
Seeding that generator first makes `make eval` repeatable; DIET and TED have seeds of their own
in bot/config.yml. Usage: python bench/crossval.py [--seed N] <rasa test nlu arguments>.
"""

from __future__ import annotations

import random
import sys

import numpy as np

SEED = 42


def main(argv: list[str]) -> None:
    seed = SEED
    if argv[:1] == ["--seed"]:
        seed, argv = int(argv[1]), argv[2:]
    random.seed(seed)
    np.random.seed(seed)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", "test", "nlu", "--cross-validation", *argv]
    rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
