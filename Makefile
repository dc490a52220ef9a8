# The two commands a newcomer needs: `make run` and `make test`.
# Everything installs into .venv at the repository root (uv workspace, locked in uv.lock).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: setup run test test-fast bench contracts demo lint clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

setup: $(UV)
	$(UV) sync --frozen --all-packages --group dev --quiet

run: setup
	$(VENV)/bin/ledger up

test: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: setup
	$(VENV)/bin/pytest -x -q -m "not slow" $(PYTEST_ARGS)

bench: setup
	$(VENV)/bin/python -m ledger_bench $(if $(QUICK),--quick,)

contracts: setup
	$(VENV)/bin/python -m ledger_rules.vocabulary
	$(VENV)/bin/python -m ledger_rules.docs
	$(VENV)/bin/python -m ledger_domain.contracts

demo: setup
	$(VENV)/bin/ledger demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .mypy_cache
