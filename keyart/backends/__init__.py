"""OLAP backends that answer IR queries: embedded (DuckDB over the daily sketch rollups),
legacy (exact counts over the clean event tables) and druid (native queries to a broker).

Every backend has the same shape, so that a fourth one is a fill-in job:

- `<name>/plan.py`: which table, datasource or rollup answers a query (decisions only,
  no query text);
- `<name>/compile.py`: the IR query as the engine's query text (SQL with every user
  value bound, or Druid JSON), for the planned source;
- `<name>/results.py`: the engine's answer as a `QueryResult` (counts exact; distinct
  counts as estimates with bounds);
- `<name>/backend.py`: the `Backend` (base.py) that plans, compiles, runs and reads,
  answering a query whose filter matches nothing (`MetricQuery.matches_nothing`) with
  no rows and leaving out groups below `min_impressions`;
- `<name>/__init__.py`: exports the backend class.

What the IR means (the metrics, which filter matches nothing, what a query uses) lives on
`keyart.query.ir`; which warehouse column answers which metric lives on
`keyart.warehouse.tables.MEASURE_OF`. Backends over DuckDB share `duckdb/`: the engine and
its worker threads (engine.py), the warehouse's versions and day files (versions.py), the
serving copy (serving_copy.py), SQL quoting and parameters (sql.py), clauses common to
their SQL (clauses.py), shared planning (plan.py), result reading (results.py) and the
base class that follows the current version (backend.py). A new backend is checked by
the one conformance suite, tests/backends/test_conformance.py, by adding it to the list
of backends under test there (tests/backends/conftest.py).
"""

from keyart.backends.base import Backend

__all__ = ["Backend"]
