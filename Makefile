# mlplat — two commands do all the set-up on a fresh machine:
#   make plan   offline plan (and audit) of the demo team environment
#   make test   the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STACK ?= demo

.PHONY: plan test test-unit test-hosts lint bench snapshots system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,hosts]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@scripts/install-system-deps

plan: $(STAMP)
	$(BIN)/mlplat plan $(STACK)

test: $(STAMP) system-deps
	$(BIN)/pytest

test-unit: $(STAMP)
	$(BIN)/pytest -m "not hosts"

test-hosts: $(STAMP) system-deps
	$(BIN)/pytest -m hosts

lint: $(STAMP)
	$(BIN)/ruff check mlplat components stacks tests bench
	$(BIN)/mypy

# Refresh committed golden files (plan snapshot, rendered cloud-init) and every generated
# document (mlplat docs) after an intended change.
snapshots: $(STAMP)
	MLPLAT_UPDATE_GOLDEN=1 $(BIN)/pytest -q tests/unit/test_plan_snapshot.py tests/cloudinit -m "not hosts"
	$(BIN)/mlplat docs

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
