"""What the DuckDB backends (embedded, legacy) share: the engine, the warehouse's versions,
the serving copy, SQL quoting and clauses, result reading, and their base class."""
