"""keyart's benchmarks (DESIGN §7): ingest, query, store, http, spark and druid suites."""
