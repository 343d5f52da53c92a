"""The embedded backend: DuckDB over the warehouse's daily HLL sketch rollups
(plan, compile, results, backend; the sketch unions are keyart.sketches.unions)."""

from keyart.backends.embedded.backend import EmbeddedBackend

__all__ = ["EmbeddedBackend"]
