"""Schema extensions of keyart: per-operation latency metrics; response warnings;
parser and validation caches that do not keep long query texts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from graphql.language.parser import parse
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache

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


class BoundedParserCache(ParserCache):
    """Strawberry's parser cache for query texts of at most `max_chars` characters;
    longer ones are parsed every time, so that the cache never holds a huge text."""

    def __init__(self, maxsize: int, max_chars: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_chars = max_chars

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.query is not None and len(ec.query) > self.max_chars:
            ec.graphql_document = parse(ec.query, **ec.parse_options)
            yield
            return
        yield from super().on_parse()


class BoundedValidationCache(ValidationCache):
    """Strawberry's validation cache for documents of query texts of at most `max_chars`
    characters (a cached document keeps its source text); longer ones are validated by
    Strawberry's default path."""

    def __init__(self, maxsize: int, max_chars: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_chars = max_chars

    def on_validate(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None and len(query) > self.max_chars:
            yield
            return
        yield from super().on_validate()


__all__ = [
    "BoundedParserCache",
    "BoundedValidationCache",
    "OperationMetrics",
    "ResponseWarnings",
]
