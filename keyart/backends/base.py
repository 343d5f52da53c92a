"""The interface every OLAP backend implements (embedded, druid, legacy)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from keyart.query import MetricQuery, QueryResult


@runtime_checkable
class Backend(Protocol):
    """Answers IR queries; raises BadQuery or BackendUnavailable (never a foreign error)."""

    name: str

    async def execute(self, query: MetricQuery) -> QueryResult:
        """Answer one query: exact counts, distinct counts with bounds, per group."""
        ...

    async def ping(self) -> None:
        """Return when the backend can answer; raise BackendUnavailable otherwise."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads."""
        ...


@runtime_checkable
class Warming(Protocol):
    """A backend that builds a faster read path (a serving copy) after it starts answering."""

    def serving_ready(self) -> bool:
        """True when queries of the current data are answered from the fast path; starts
        building it when it is missing."""
        ...
