# One entry point. On a fresh machine with only python3:
#   make demo   set up .venv and run the main job on the embedded default (SQLite)
#   make test   set up .venv and run lint, type checks and the whole test suite
#   make bench  set up .venv and run the benchmarks
PY     ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PIPFLAGS := --disable-pip-version-check -q --only-binary lxml,xmlsec -c requirements.lock

.PHONY: setup test lint typecheck pytest demo serve bench clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install $(PIPFLAGS) -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check interchange adapters tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/interchange demo

serve: $(STAMP)
	$(BIN)/interchange demo --serve

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
