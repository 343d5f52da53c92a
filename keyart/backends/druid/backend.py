"""The Druid backend: answers IR queries with native queries sent to a Druid broker."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from keyart.backends.druid.client import QUERY_PATH, DruidClient
from keyart.backends.druid.compile import CompileOptions, compile_query
from keyart.backends.druid.results import parse_result
from keyart.backends.druid.specs import DEFAULT_PREFIX, Datasources
from keyart.backends.druid.split import split
from keyart.config import ApiSettings
from keyart.errors import BackendUnavailable, ResourceLimitExceeded
from keyart.query import MetricQuery, QueryResult, ResultRow

DATASOURCES_PATH = "/druid/v2/datasources"
# at most 2**MAX_SPLIT_DEPTH queries answer one query that exceeds Druid's groupBy memory
MAX_SPLIT_DEPTH = 6


class DruidBackend:
    """A `Backend` over the Druid datasources that `keyart druid ingest` loads."""

    name = "druid"

    def __init__(
        self,
        broker_url: str,
        *,
        timeout_s: float = 10.0,
        lg_k: int = 14,
        datasource_prefix: str = DEFAULT_PREFIX,
        use_country_datasource: bool = True,
        max_connections: int = 32,
        transport: httpx.AsyncBaseTransport | None = None,
        query_context: Mapping[str, Any] | None = None,
    ) -> None:
        self.options = CompileOptions(
            datasources=Datasources(datasource_prefix),
            use_country_datasource=use_country_datasource,
            lg_k=lg_k,
            timeout_ms=max(1, int(timeout_s * 1000)),
            context=dict(query_context or {}),
        )
        self.timeout_s = timeout_s
        self.client = DruidClient(
            broker_url, timeout_s=timeout_s, max_connections=max_connections, transport=transport
        )

    @classmethod
    def from_settings(cls, settings: ApiSettings, *, lg_k: int = 14) -> DruidBackend:
        """A backend for the API settings' broker URL and timeout (lg_k of the warehouse)."""
        return cls(settings.druid_url, timeout_s=settings.druid_timeout_s, lg_k=lg_k)

    def compile(self, query: MetricQuery) -> dict[str, object]:
        """The native query this backend sends for `query` (for logs and debugging)."""
        return compile_query(query, self.options)

    async def execute(self, query: MetricQuery, version: str | None = None) -> QueryResult:
        """Answer one query; BackendQueryError / BackendUnavailable on Druid failures. Druid answers
        from the datasources it serves (the last `keyart druid ingest`), whatever
        `version` says (see docs/druid.md)."""
        if query.matches_nothing:
            return QueryResult(())
        try:
            # one deadline for the whole answer, split parts included
            async with asyncio.timeout(self.timeout_s):
                rows = await self._rows(query, MAX_SPLIT_DEPTH)
        except TimeoutError as exc:
            raise BackendUnavailable(
                f"Druid at {self.client.url}{QUERY_PATH} did not answer within {self.timeout_s:g}s"
            ) from exc
        return QueryResult(tuple(rows)).at_least(query.min_impressions)

    async def _rows(self, query: MetricQuery, splits_left: int) -> list[ResultRow]:
        try:
            payload = await self.client.query(compile_query(query, self.options))
        except ResourceLimitExceeded:
            # too many groups for Druid's groupBy buffer: ask for two disjoint halves
            parts = split(query) if splits_left > 0 else None
            if parts is None:
                raise
            rows: list[ResultRow] = []
            for part in parts:  # one after the other: each may need a whole merge buffer
                rows += await self._rows(part, splits_left - 1)
            return rows
        return list(parse_result(query, payload).rows)

    async def ping(self) -> None:
        """Return when the broker is healthy and serves the datasources this backend reads;
        BackendUnavailable otherwise (an unloaded datasource would answer every query with
        no rows rather than an error)."""
        await self.client.ping()
        served = await self.client.request("GET", DATASOURCES_PATH)
        needed = [self.options.datasources.audience]
        if self.options.use_country_datasource:
            needed.append(self.options.datasources.country)
        missing = [ds for ds in needed if not isinstance(served, list) or ds not in served]
        if missing:
            raise BackendUnavailable(
                f"Druid broker at {self.client.url} serves no datasource {', '.join(missing)}; "
                "load the warehouse with `keyart druid ingest`"
            )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()


__all__ = ["DruidBackend"]
