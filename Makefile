# mlplat — two commands do all the set-up on a fresh machine:
#   make plan   offline plan of the demo team environment, then its security audit
#   make test   the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two install stamps: planning needs only the package; tests, linters and real-host tooling
# (the dev and hosts extras, several times larger) are installed by the targets that use them.
PLAN_STAMP := $(VENV)/.installed-plan
TEST_STAMP := $(VENV)/.installed-test
# Third-party scanners (checkov, parliament, cloudsplaining, detect-secrets) pin dozens of
# packages of their own, so they live in a venv of their own; tests call them as programs.
SCANNERS := .venv-scanners
SCANNERS_STAMP := $(SCANNERS)/.installed
STACK ?= demo

.PHONY: plan test test-unit test-hosts lint bench bench-ansible snapshots system-deps clean venv scanners

$(PLAN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e .
	touch $@

$(TEST_STAMP): $(PLAN_STAMP)
	$(BIN)/pip install -e '.[dev,hosts]'
	touch $@

venv: $(TEST_STAMP)

$(SCANNERS_STAMP): scripts/scanners-requirements.txt
	test -x $(SCANNERS)/bin/python || $(PYTHON) -m venv $(SCANNERS)
	$(SCANNERS)/bin/pip install -r scripts/scanners-requirements.txt
	touch $@

scanners: $(SCANNERS_STAMP)

system-deps:
	@scripts/install-system-deps

# The audit reads the plan just written instead of planning the stack a second time. The
# JSON stays inside the (ignored) venv directory; `mlplat plan --json FILE` writes one anywhere.
PLAN_JSON := $(VENV)/plans/$(STACK).json
plan: $(PLAN_STAMP)
	mkdir -p $(dir $(PLAN_JSON))
	$(BIN)/mlplat plan $(STACK) --json $(PLAN_JSON)
	$(BIN)/mlplat audit --plan $(PLAN_JSON)

test: $(TEST_STAMP) $(SCANNERS_STAMP) system-deps
	$(BIN)/pytest

test-unit: $(TEST_STAMP) $(SCANNERS_STAMP)
	$(BIN)/pytest -m "not hosts"

test-hosts: $(TEST_STAMP) system-deps
	$(BIN)/pytest -m hosts

lint: $(TEST_STAMP)
	$(BIN)/ruff check mlplat components stacks tests bench policies
	$(BIN)/mypy

# Refresh committed golden files (plan snapshots plans/<stack>.json of every stack file,
# rendered cloud-init) and every generated document (mlplat docs) after an intended change.
# CI checks the plan snapshots with tests/unit/test_plan_snapshot.py (`mlplat plan --check`).
snapshots: $(TEST_STAMP)
	$(BIN)/mlplat plan --write-snapshots
	MLPLAT_UPDATE_GOLDEN=1 $(BIN)/pytest -q tests/cloudinit -m "not hosts"
	$(BIN)/mlplat docs

# Benchmarks (issue #14): plan and audit beside checkov (needs the scanners venv); the Ansible
# one boots real hosts and needs root: bench-ansible. Each writes its docs/performance.md section.
bench: $(TEST_STAMP) $(SCANNERS_STAMP)
	$(BIN)/python -m bench.plan_bench
	$(BIN)/python -m bench.audit_bench

bench-ansible: $(TEST_STAMP)
	$(BIN)/python -m bench.ansible_bench

clean:
	rm -rf $(VENV) $(SCANNERS) .pytest_cache .mypy_cache .ruff_cache
