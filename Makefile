# Two commands from nothing: `make demo` and `make test`. Everything runs in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test
# CI installs exactly the hash-locked versions: `make test LOCK=requirements/test.txt`.
LOCK   ?=
UV     := uv==0.13.8

.PHONY: demo test lint typecheck pytest bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
ifeq ($(LOCK),)
	$(BIN)/python -m pip install --quiet --upgrade pip
endif

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[provision,sandbox]'
	@touch $@

# Real OPA for the tests (tests/engines): requirements/opa.txt says why it is apart.
OPA_LOCK := requirements/opa.txt

$(TESTSTAMP): pyproject.toml $(LOCK) $(OPA_LOCK) | $(BIN)/python
ifeq ($(LOCK),)
	$(BIN)/python -m pip install --quiet -e '.[test]'
else
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
endif
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python --require-hashes -r $(OPA_LOCK)
	@touch $@ $(STAMP)

demo: $(STAMP)
	@bash scripts/demo.sh

test: $(TESTSTAMP)
	$(BIN)/ruff check guardrails tests bench
	$(BIN)/ruff format --check guardrails tests bench
	$(BIN)/mypy
	$(BIN)/zizmor --offline --strict-collection .
	$(BIN)/python -m pytest -q

# Re-lock after changing dependencies in pyproject.toml or requirements/*.in (needs PyPI):
# one universal lock per use, every file's sha256, for `pip install --require-hashes`.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet '$(UV)'
	$(BIN)/uv pip compile --quiet --universal --generate-hashes --python-version 3.11 \
	  --custom-compile-command 'make lock' pyproject.toml requirements/ci.in \
	  --extra provision --extra discover -o requirements/ci.txt
	$(BIN)/uv pip compile --quiet --universal --generate-hashes --python-version 3.11 \
	  --custom-compile-command 'make lock' requirements/release.in -o requirements/release.txt
	$(BIN)/uv pip compile --quiet --universal --generate-hashes --python-version 3.11 \
	  --custom-compile-command 'make lock' pyproject.toml requirements/test.in \
	  --extra test -o requirements/test.txt

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .guardrails-cache .pytest_cache .mypy_cache .ruff_cache

.PHONY: bench-discover
bench-discover: $(STAMP)
	$(BIN)/python bench/discover_bench.py
