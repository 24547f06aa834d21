# Every target CI calls is here; .ci/run calls `make test` verbatim.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTOS := $(shell find protos/consulta -name '*.proto')
SITE := $(shell $(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null)

.PHONY: install run gen gen-check lint typecheck test test-fast bench eval stack stack-down clean ci infra-test services

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
	$(BIN)/python -m grpc_tools.protoc -Iprotos -I$(SITE) \
	  --python_out=gen --grpc_python_out=gen \
	  --mypy_out=gen --mypy_grpc_out=gen \
	  --plugin=protoc-gen-mypy=$(BIN)/protoc-gen-mypy \
	  --plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc \
	  $(PROTOS)
	touch gen/consulta/__init__.py gen/consulta/v1/__init__.py gen/consulta/py.typed

# Fails when gen/ differs from what protos/ generate.
gen-check: install
	rm -rf /tmp/consulta-gen-check && cp -r gen /tmp/consulta-gen-check
	$(MAKE) --no-print-directory gen
	diff -r gen /tmp/consulta-gen-check -x __pycache__ || (echo "gen/ is stale: run make gen and commit" && exit 1)

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
