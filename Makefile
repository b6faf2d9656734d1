# DropDesk: `make run` starts everything, `make test` runs the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
BOT_VENV  := .venv-bot
DD        := $(VENV)/bin/dropdesk
RASA      := $(BOT_VENV)/bin/rasa
# Any Python >= 3.11 for the service; exactly 3.10 for Rasa 3.6 (PATH first, then pyenv).
PYTHON_SVC ?= $(shell for c in python3.13 python3.12 python3.11 python3; do \
  p=$$(command -v $$c 2>/dev/null) && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  && { echo $$p; break; }; done)
PYTHON_BOT ?= $(shell for c in python3.10 $$(pyenv root 2>/dev/null)/versions/3.10*/bin/python3.10 \
  /usr/local/bin/python3.10 /usr/bin/python3.10; do \
  p=$$(command -v $$c 2>/dev/null) && $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null \
  && { echo $$p; break; }; done)
# The model is named by a fingerprint of everything training reads, so it retrains only on change
# (not the channel or the server entrypoint, which the model does not contain).
TRAINING_INPUTS = bot/config.yml bot/domain.yml bot/components bot/jieba data actions/normalise/spelling.py
FINGERPRINT = $(shell find $(TRAINING_INPUTS) -type f ! -name '*.pyc' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
MODEL = models/dropdesk-$(FINGERPRINT).tar.gz
RASA_ARGS = --config bot/config.yml --domain bot/domain.yml --data data
export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: help run test setup setup-service setup-bot migrate seed train model-path lint typecheck \
        validate test-service test-bot test-stories eval bench setup-browser

help:
	@echo "make run    set up both runtimes, migrate, seed the demo store, train if stale, start all"
	@echo "make test   run the whole test suite (service, actions, stories, end to end)"
	@echo "make eval   NLU cross-validation and the held-out set"
	@echo "make bench  import, diagnosis, handoff and per-turn benchmarks"

setup: setup-service setup-bot

setup-service: $(VENV)/.installed
setup-bot: $(BOT_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON_SVC)" || { echo "Python >= 3.11 not found: install one (e.g. pyenv install 3.11)"; exit 1; }
	@echo "service runtime: $(PYTHON_SVC)"
	@test -x $(VENV)/bin/python || $(PYTHON_SVC) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	@touch $@

$(BOT_VENV)/.installed: bot/requirements.txt
	@test -n "$(PYTHON_BOT)" || { echo "Python 3.10 not found (Rasa 3.6 needs it): e.g. pyenv install 3.10"; exit 1; }
	@echo "bot runtime: $(PYTHON_BOT)"
	@test -x $(BOT_VENV)/bin/python || $(PYTHON_BOT) -m venv $(BOT_VENV)
	$(BOT_VENV)/bin/python -m pip install -q --upgrade pip wheel
	$(BOT_VENV)/bin/python -m pip install -q -r bot/requirements.txt
	@touch $@

migrate: setup-service
	@$(DD) migrate

seed: migrate
	@$(DD) seed --demo

train: setup-bot
	@if [ -f $(MODEL) ]; then echo "model is up to date: $(MODEL)"; else \
	  echo "training $(MODEL) ..."; mkdir -p models; \
	  $(RASA) train $(RASA_ARGS) --out models --fixed-model-name dropdesk-$(FINGERPRINT) --quiet \
	  && find models -name 'dropdesk-*.tar.gz' ! -name 'dropdesk-$(FINGERPRINT).tar.gz' -delete; fi

model-path:
	@echo $(MODEL)

run: setup seed train
	@$(DD) run --model $(MODEL)

lint: setup-service
	$(VENV)/bin/ruff check api tests bench actions bot
	$(VENV)/bin/mypy

validate: setup-bot
	$(RASA) data validate $(RASA_ARGS)

test-service: setup train
	DROPDESK_TEST_MODEL=$(MODEL) DROPDESK_REQUIRE_RASA=1 DROPDESK_REQUIRE_BROWSER=1 \
	  $(VENV)/bin/python -m pytest tests/api tests/e2e -q

test-bot: setup-bot
	$(BOT_VENV)/bin/python -m pytest tests/bot -q

test-stories: setup-bot train validate
	$(RASA) test core --stories tests/bot/stories --model $(MODEL) \
	  --fail-on-prediction-errors --out var/test-results/stories

# Debian's chromium (Playwright's browser download is not used) and a CJK font for screenshots.
setup-browser:
	@command -v chromium >/dev/null && fc-list :lang=zh 2>/dev/null | grep -q . \
	  || { apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei; }

test: setup setup-browser train lint test-bot test-stories test-service

eval: setup train
	$(BOT_VENV)/bin/python bench/crossval.py --config bot/config.yml --domain bot/domain.yml \
	  --nlu data --folds 5 --out var/eval/crossval
	$(RASA) test nlu --model $(MODEL) --nlu tests/bot/heldout/set_a.yml --out var/eval/heldout_a
	$(RASA) test nlu --model $(MODEL) --nlu tests/bot/heldout/set_b.yml --out var/eval/heldout_b
	$(VENV)/bin/python bench/nlu_report.py var/eval/crossval var/eval/heldout_a var/eval/heldout_b
	$(VENV)/bin/python bench/conversation_eval.py $(MODEL) tests/e2e/conversations/blind.yml

bench: setup train
	$(VENV)/bin/python bench/import_bench.py
	$(BOT_VENV)/bin/python bench/amount_bench.py
	$(VENV)/bin/python bench/diagnosis_bench.py
	$(VENV)/bin/python bench/handoff_bench.py
	$(VENV)/bin/python bench/dashboard_bench.py
	$(VENV)/bin/python bench/turn_bench.py $(MODEL) --train
	$(VENV)/bin/python bench/wechat_bench.py $(MODEL)
	$(VENV)/bin/python bench/slip_bench.py
	$(VENV)/bin/python bench/load_bench.py $(MODEL) --duration $(or $(LOAD_SECONDS),60)
