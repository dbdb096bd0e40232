# greenchain: every set-up step lives here, so a fresh machine needs only `make run` / `make test`.
# Python environments come from one lock (uv.lock) through uv, itself installed with hashes.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
UV     := .cache/uv/bin/uv
PROTOS := $(wildcard protos/greenchain/v1/*.proto)
STUBS  := libs/common/src
# uv uses the machine's Python and never downloads one
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system

# make run's folder: logs, ledger, tokens (access-tokens.txt), sample data
WORKDIR ?= var/demo

.DEFAULT_GOAL := help
.PHONY: help setup sync-dev sync-runtime lock proto lint typecheck contracts check test test-fast bench run stop images kafka-up kafka-down kafka-clean clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(UV): scripts/requirements-uv.txt
	$(PYTHON) -m venv .cache/uv
	.cache/uv/bin/python -m pip install -q --require-hashes -r scripts/requirements-uv.txt
	@touch $@

sync-dev: $(UV)  ## .venv with everything from uv.lock: services, client, test and lint tools
	@$(UV) sync --frozen --quiet

sync-runtime: $(UV)  ## .venv with the runtime set only (services + client), as `make run` uses
	@$(UV) sync --frozen --quiet --no-dev --inexact

setup: sync-dev  ## the dev environment and the Kafka jars
	@scripts/kafka.sh fetch

lock: $(UV)  ## re-resolve uv.lock after changing a pyproject.toml
	$(UV) lock

proto: sync-dev  ## regenerate the Python stubs from protos/ into libs/common (never edit them by hand)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m grpc_tools.protoc -Iprotos --python_out=$(STUBS) \
	  --pyi_out=$(STUBS) --grpc_python_out=$(STUBS) --mypy_grpc_out=$(STUBS) $(PROTOS)
	@touch $(STUBS)/greenchain/v1/__init__.py

lint: sync-dev  ## ruff, and uv.lock in step with every pyproject.toml
	$(UV) lock --check --quiet
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: sync-dev  ## mypy (strict)
	$(BIN)/mypy

contracts: sync-dev  ## import-linter: services meet only through Kafka topics and the contract
	$(BIN)/lint-imports

check: lint typecheck contracts  ## lint + typecheck + import contracts

test: setup check  ## everything CI runs: lint, types, contracts, all tests against a real Kafka
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: sync-dev  ## the unit tests next to each distribution (no Kafka)
	$(BIN)/python -m pytest libs/common/tests libs/reports/tests services/*/tests clients/tests $(PYTEST_ARGS)

bench: setup  ## benchmarks vs baselines of the same run -> bench/results/, docs/performance.md
	$(BIN)/python -m bench.run $(BENCH_ARGS)

.PHONY: soak
soak: setup  ## the fault campaign at soak size (500k declarations, 100 faults; GREENCHAIN_CAMPAIGN_* to change; root)
	GREENCHAIN_CAMPAIGN_DECLARATIONS=$${GREENCHAIN_CAMPAIGN_DECLARATIONS:-500000} GREENCHAIN_CAMPAIGN_FAULTS=$${GREENCHAIN_CAMPAIGN_FAULTS:-100} GREENCHAIN_CAMPAIGN_SPAN=$${GREENCHAIN_CAMPAIGN_SPAN:-700} GREENCHAIN_CAMPAIGN_BROKER_RESTARTS=$${GREENCHAIN_CAMPAIGN_BROKER_RESTARTS:-5} GREENCHAIN_CAMPAIGN_DISK_FILLS=$${GREENCHAIN_CAMPAIGN_DISK_FILLS:-8} \
	  $(BIN)/python -m pytest tests/faults/test_fault_campaign.py -k campaign_loses -s $(PYTEST_ARGS)

images: sync-dev  ## build the four service images locally (no registry needed; see scripts/images.sh)
	@scripts/images.sh

kafka-up:  ## start the local broker on 127.0.0.1:9092 (idempotent)
	@scripts/kafka.sh up

kafka-down:  ## stop the local broker
	@scripts/kafka.sh down

kafka-clean:  ## stop the local broker and delete its data
	@scripts/kafka.sh clean

clean:  ## remove the venv and caches (keeps the Kafka jars and uv)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

run: sync-runtime  ## the main job: Kafka, the four services, sample data, a result; keeps running
	$(BIN)/greenchain demo --workdir $(WORKDIR) --kafka-script scripts/kafka.sh $(RUN_ARGS)

stop:  ## end a running `make run` from another shell (its services, and the broker it started)
	@$(BIN)/greenchain stop --workdir $(WORKDIR)
