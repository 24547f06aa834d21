# Every target CI calls is here; .ci/run calls `make test` verbatim.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TYPED := app core server workers clients bench eval tests protos

.PHONY: install tools run gen contract contract-baseline lint typecheck test bench eval stack stack-down clean ci infra-test services

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/consulta serve

# Regenerates gen/ from protos/ (messages, .pyi stubs and gRPC stubs with types).
gen: install
	rm -rf gen/consulta
	$(BIN)/python protos/generate.py gen

# The contract: buf lint STANDARD, buf format, and no breaking change (FILE rules) against the
# recorded baseline image protos/breaking-baseline.json. A commit that breaks the contract on
# purpose runs `make contract-baseline` and says why in its message.
contract: install
	$(BIN)/buf lint
	$(BIN)/buf format --diff --exit-code
	$(BIN)/buf breaking --against protos/breaking-baseline.json

contract-baseline: install
	$(BIN)/buf build --exclude-source-info -o -#format=json \
	  | $(BIN)/python -m json.tool --indent 1 --sort-keys > protos/breaking-baseline.json

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy $(TYPED)

# espeak-ng speaks the recordings some tests and the evaluation make (Spanish among them);
# from Debian's packages when it is missing.
tools:
	command -v espeak-ng >/dev/null || (apt-get update -qq && apt-get install -y -qq espeak-ng)

# Fails (never skips) when PostgreSQL or RabbitMQ is not running, with the command to start it.
services: install
	$(BIN)/python -m app.devstack.services check

# Everything CI checks: the contract, lint, types, every test (real PostgreSQL, RabbitMQ and
# SeaweedFS included) and the infrastructure app.
test: contract lint typecheck services tools
	$(BIN)/pytest -p no:cacheprovider
	$(MAKE) --no-print-directory infra-test

ci: test

infra-test:
	$(MAKE) -C infra test

# The scaled-out stack: SeaweedFS, 2 servers (gRPC 50051/50052, HTTP 8081/8082), 2 workers.
stack: install
	$(BIN)/python -m app.devstack.stack up

stack-down:
	$(BIN)/python -m app.devstack.stack down

bench: install tools
	$(BIN)/python -m bench

# ACI-Bench test1 visits spoken and transcribed by make eval (all 40 take about an hour of CPU).
AUDIO_DIALOGUES ?= 40

eval: install tools
	$(BIN)/python -m eval --writer product
	$(BIN)/python -m eval.wer
	$(BIN)/python -m eval.audio_notes --dialogues $(AUDIO_DIALOGUES)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
