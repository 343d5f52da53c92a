"""Schema extensions of keyart: per-operation latency metrics, response warnings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from keyart.access_log import OPERATION_KEY


class OperationMetrics(SchemaExtension):
    """Records each operation's latency by operation name in the request's ApiMetrics, and
    names the operation in the HTTP scope for the access log."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context.context
        scope = getattr(getattr(context, "request", None), "scope", None)
        if isinstance(scope, dict):
            scope[OPERATION_KEY] = self.execution_context.operation_name
        metrics = getattr(context, "metrics", None)
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
