# DropDesk: `make run` starts everything, `make test` runs the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
BOT_VENV  := .venv-bot
DD        := $(VENV)/bin/dropdesk
RASA      := $(BOT_VENV)/bin/rasa
# Both runtimes run on Python 3.11 (PATH first, then pyenv; never a hard-coded path).
PYTHON ?= $(shell for c in python3.11 $$(pyenv root 2>/dev/null)/versions/3.11*/bin/python3.11 \
  /usr/local/bin/python3.11 /usr/bin/python3.11; do \
  p=$$(command -v $$c 2>/dev/null) && $$p -c 'import sys; assert sys.version_info[:2] == (3, 11); \
  print(sys.executable)' 2>/dev/null && break; done)
# uv installs both runtimes from their lock files (exact versions and hashes); it comes from
# PyPI into .tools/, pinned here, so every machine resolves and installs the same way.
UV_VERSION := 0.13.9
UV         := .tools/uv-$(UV_VERSION)/bin/uv
LOCK_FOR   := --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes
# The model is named by a fingerprint of everything training reads, so it retrains only on change
# (not the channel or the server entrypoint, which the model does not contain).
TRAINING_INPUTS = bot/requirements.lock bot/config.yml bot/domain.yml bot/components bot/jieba data actions/normalise/spelling.py
FINGERPRINT = $(shell find $(TRAINING_INPUTS) -type f ! -name '*.pyc' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
MODEL = models/dropdesk-$(FINGERPRINT).tar.gz
RASA_ARGS = --config bot/config.yml --domain bot/domain.yml --data data
export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: help run test setup setup-service setup-bot migrate seed train model-path lint typecheck \
        validate test-service test-bot test-stories eval bench setup-browser lock

help:
	@echo "make run    set up both runtimes, migrate, seed the demo store, train if stale, start all"
	@echo "make test   run the whole test suite (service, actions, stories, end to end)"
	@echo "make eval   NLU cross-validation and the held-out set"
	@echo "make bench  import, diagnosis, handoff and per-turn benchmarks"

setup: setup-service setup-bot

setup-service: $(VENV)/.installed
setup-bot: $(BOT_VENV)/.installed

$(UV):
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install it (e.g. pyenv install 3.11)"; exit 1; }
	$(PYTHON) -m pip install -q --disable-pip-version-check --target .tools/uv-$(UV_VERSION) uv==$(UV_VERSION)

# A venv on another interpreter (an older checkout's 3.10 bot venv) is made again.
define make_venv
	@echo "$(1): $(PYTHON)"
	@$(1)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
	  || { rm -rf $(1); $(UV) venv -q --python $(PYTHON) $(1); }
endef

$(VENV)/.installed: requirements-dev.lock pyproject.toml | $(UV)
	$(call make_venv,$(VENV))
	$(UV) pip sync -q --python $(VENV)/bin/python --require-hashes requirements-dev.lock
	$(UV) pip install -q --python $(VENV)/bin/python --no-deps -e .
	@touch $@

$(BOT_VENV)/.installed: bot/requirements.lock | $(UV)
	$(call make_venv,$(BOT_VENV))
	$(UV) pip sync -q --python $(BOT_VENV)/bin/python --require-hashes bot/requirements.lock
	@touch $@

# Regenerate the lock files from what we depend on directly (LOCK_ARGS=--upgrade for newer
# releases): pyproject.toml for the service, bot/requirements.in for the bot. Rasa 3.6 declares
# Python < 3.11, so its metadata is read with that ceiling moved (bot/rasa_metadata.py).
lock: | $(UV)
	$(PYTHON) bot/rasa_metadata.py $$(grep -E '^rasa(-sdk)?==' bot/requirements.in) > bot/uv.toml
	$(UV) pip compile -q $(LOCK_FOR) $(LOCK_ARGS) pyproject.toml -o requirements.lock
	$(UV) pip compile -q $(LOCK_FOR) $(LOCK_ARGS) --extra dev pyproject.toml -o requirements-dev.lock
	$(UV) pip compile -q $(LOCK_FOR) $(LOCK_ARGS) --config-file bot/uv.toml \
	  --override bot/overrides.txt bot/requirements.in -o bot/requirements.lock

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
