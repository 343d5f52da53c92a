# keyart — the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# two stamps in one venv: BASE = the package alone (what `make demo` needs), STAMP = the
# package with the test and Spark extras (`make test`); a demo venv gains the extras later
BASE := $(VENV)/.installed-base
STAMP := $(VENV)/.installed
EXTRAS ?= test,spark
PORT ?= 8000

.PHONY: web venv demo test lint typecheck pytest bench clean druid-up druid-down redis-up redis-down vendor-graphiql

$(BASE): pyproject.toml
	@echo "installing keyart into $(VENV) (the package alone, no test or Spark extras) …"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on -e .
	touch $(BASE)

$(STAMP): $(BASE)
	@echo "installing the [$(EXTRAS)] extras into $(VENV) …"
	$(BIN)/pip install --progress-bar on -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

## Generate the demo profile, ingest it and serve GraphiQL on http://127.0.0.1:$(PORT)/graphql
## (make demo PORT=8010 for another port)
demo: $(BASE)
	$(BIN)/keyart demo --port $(PORT)

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

## Rebuild the dashboard bundle (web/ → keyart/web/dashboard/) with the locked npm packages
web:
	cd web && npm ci --no-audit --no-fund && npm run build

## Re-copy GraphiQL's browser builds from npm into keyart/web/graphiql/ (pinned versions)
vendor-graphiql:
	./scripts/vendor_graphiql.sh

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
