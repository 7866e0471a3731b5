# Two commands from nothing: `make demo` and `make test`. Everything runs in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[provision,sandbox]'
	@touch $@

# Real OPA for the tests (tests/engines): OPA v1.20.2's Go engine in a wheel whose
# metadata asks for Python 3.14 although it runs on 3.11, hence outside the extras.
OPA_WHEEL := opa-golib-python-bindings==0.4.4

$(TESTSTAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python '$(OPA_WHEEL)'
	@touch $@ $(STAMP)

demo: $(STAMP)
	@bash scripts/demo.sh

test: $(TESTSTAMP)
	$(BIN)/ruff check guardrails tests bench
	$(BIN)/ruff format --check guardrails tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .guardrails-cache .pytest_cache .mypy_cache .ruff_cache
