"""OLAP backends that answer IR queries: embedded (DuckDB), druid, legacy (exact)."""

from keyart.backends.base import Backend

__all__ = ["Backend"]
