# greenchain: every set-up step lives here, so a fresh machine needs only `make run` / `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PROTOS := $(wildcard protos/greenchain/v1/*.proto)

.DEFAULT_GOAL := help
.PHONY: help setup proto lint typecheck check test test-fast bench run images kafka-up kafka-down kafka-clean clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*; touch $@

setup: $(STAMP)  ## create .venv with the pinned dependencies and fetch Kafka
	@scripts/kafka.sh fetch

proto: $(STAMP)  ## regenerate the Python stubs from protos/ (never edit them by hand)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m grpc_tools.protoc -Iprotos --python_out=src --pyi_out=src \
	  --grpc_python_out=src --mypy_grpc_out=src $(PROTOS)
	@touch src/greenchain/v1/__init__.py

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)  ## mypy (strict)
	$(BIN)/mypy

check: lint typecheck  ## lint + typecheck

test: setup check  ## everything CI runs: lint, types, all tests against a real Kafka
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)  ## unit tests only (no Kafka)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

bench: setup  ## benchmarks vs baselines of the same run -> bench/results/, docs/performance.md
	$(BIN)/python -m bench.run $(BENCH_ARGS)

images: setup  ## build the three service images locally (no registry needed; see scripts/images.sh)
	@scripts/images.sh

kafka-up:  ## start the local broker on 127.0.0.1:9092 (idempotent)
	@scripts/kafka.sh up

kafka-down:  ## stop the local broker
	@scripts/kafka.sh down

kafka-clean:  ## stop the local broker and delete its data
	@scripts/kafka.sh clean

clean:  ## remove the venv and caches (keeps the Kafka jars)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

run: setup  ## the main job: local Kafka, the three services, sample data, a printed result
	@scripts/kafka.sh up >/dev/null
	$(BIN)/greenchain demo $(RUN_ARGS)
