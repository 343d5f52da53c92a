"""The embedded backend: DuckDB over the warehouse's daily HLL sketch rollups."""

from keyart.backends.embedded.backend import EmbeddedBackend

__all__ = ["EmbeddedBackend"]
