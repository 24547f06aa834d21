# Every target CI calls is here; .ci/run calls `make test` verbatim.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run gen lint typecheck test test-fast bench eval stack stack-down clean ci infra-test services

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/consulta serve

# Regenerates gen/ from protos/ (messages, .pyi stubs and gRPC stubs with types).
gen: install
	rm -rf gen/consulta
	$(BIN)/python protos/generate.py gen

lint: install
	$(BIN)/buf lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy core server workers clients bench eval tests

services: install
	$(BIN)/python -m tests.support.services check

test: install
	$(BIN)/buf lint
	$(BIN)/ruff check .
	$(BIN)/mypy core server workers clients bench eval tests
	$(BIN)/pytest -q -p no:cacheprovider

ci: test

bench: install
	$(BIN)/python -m bench

eval: install
	$(BIN)/python -m eval

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
