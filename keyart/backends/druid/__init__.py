"""The Apache Druid backend: IR → native queries, an async client, and warehouse ingestion."""

from keyart.backends.druid.backend import DruidBackend

__all__ = ["DruidBackend"]
