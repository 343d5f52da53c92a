# keyart — the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= test,spark

.PHONY: venv demo test lint typecheck pytest bench clean druid-up druid-down redis-up redis-down

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

## Generate the demo profile, ingest it and serve GraphiQL on http://127.0.0.1:8000/graphql
demo: $(STAMP)
	$(BIN)/keyart demo

lint: $(STAMP)
	$(BIN)/ruff check keyart tests bench
	$(BIN)/ruff format --check keyart tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q $(PYTEST_ARGS)

## ruff + mypy + pytest
test: lint typecheck pytest

## Benchmarks (DESIGN §7); results go to bench/results/
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

## A single-machine Apache Druid assembled from Maven Central (no Docker)
druid-up:
	./druid/druid.sh up

druid-down:
	./druid/druid.sh down

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
