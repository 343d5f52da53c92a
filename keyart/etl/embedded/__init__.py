"""The embedded ETL engine (`keyart ingest`, the default): DuckDB and numpy in-process,
one module per step, the shared contract (`keyart.etl`) around it."""

from keyart.etl.embedded.engine import ingest

__all__ = ["ingest"]
