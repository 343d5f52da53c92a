"""Schema extensions of keyart: per-operation latency metrics, response warnings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension


class OperationMetrics(SchemaExtension):
    """Records each operation's latency by operation name in the request's ApiMetrics."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        metrics = getattr(self.execution_context.context, "metrics", None)
        if metrics is not None:
            metrics.observe_request(
                self.execution_context.operation_name, time.perf_counter() - started
            )


class ResponseWarnings(SchemaExtension):
    """Sends the request's warnings (resolvers/warnings.py) as `extensions.warnings`."""

    def get_results(self) -> dict[str, Any]:
        warnings = getattr(self.execution_context.context, "warnings", None)
        return {"warnings": warnings.as_json()} if warnings else {}


__all__ = ["OperationMetrics", "ResponseWarnings"]
