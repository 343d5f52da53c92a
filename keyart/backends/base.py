"""The interface every OLAP backend implements (embedded, druid, legacy)."""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from keyart.query import MetricQuery, QueryResult


@runtime_checkable
class Backend(Protocol):
    """Answers IR queries; raises BackendQueryError or BackendUnavailable (never a foreign
    error)."""

    name: str

    async def execute(self, query: MetricQuery, version: str | None = None) -> QueryResult:
        """Answer one query: exact counts, distinct counts with bounds, per group.

        `version` names the warehouse version to answer from (the one the served snapshot
        was built from, so that a request never mixes two versions); None means the
        newest. A backend that cannot choose (Druid) answers from what it serves."""
        ...

    async def ping(self) -> None:
        """Return when the backend can answer; raise BackendUnavailable otherwise."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads."""
        ...


# ready: answering from it; building: not yet (the slower path answers meanwhile);
# off: disabled by configuration; failed: it could not be built for the current data
ServingState = Literal["ready", "building", "off", "failed"]


@runtime_checkable
class Warming(Protocol):
    """A backend that builds a faster read path (a serving copy) after it starts answering."""

    def serving_state(self) -> ServingState:
        """Where the fast path for the current data stands; starts building it when it is
        missing."""
        ...
