"""An async HTTP client for Druid that maps every failure to a keyart error."""

from __future__ import annotations

import json
from typing import Any

import httpx

from keyart.backends.druid.split import RESOURCE_LIMIT
from keyart.errors import (
    BackendQueryError,
    BackendUnavailable,
    QueryRejected,
    ResourceLimitExceeded,
)

QUERY_PATH = "/druid/v2/"
HEALTH_PATH = "/status/health"

# Druid answers 4xx for bad queries (except 429 = capacity exceeded, the cluster's state)
# and 501 for "Unsupported operation". Druid 33 still answers HTTP 500 "Unknown exception"
# for a query it cannot even parse, so 500s are told apart by the newer error category or,
# for legacy errors, by the exception class.
_BAD_QUERY_5XX = frozenset({501})
_UNAVAILABLE_4XX = frozenset({408, 429})
_BAD_QUERY_CATEGORIES = frozenset({"INVALID_INPUT", "UNSUPPORTED", "DEFENSIVE"})
_BAD_QUERY_CLASS_PREFIXES = (
    "com.fasterxml.jackson.",
    "java.lang.IllegalArgumentException",
    "org.apache.druid.java.util.common.IAE",
    "org.apache.druid.query.QueryUnsupportedException",
    "org.apache.druid.query.ResourceLimitExceededException",
)
_RESOURCE_LIMIT_CLASS = "org.apache.druid.query.ResourceLimitExceededException"


class DruidClient:
    """A pooled `httpx.AsyncClient` for one Druid service (broker, router or overlord)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        connect_timeout_s: float | None = None,
        max_connections: int = 32,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        connect = min(timeout_s, 5.0) if connect_timeout_s is None else connect_timeout_s
        self._http = httpx.AsyncClient(
            base_url=self.url,
            timeout=httpx.Timeout(timeout_s, connect=connect),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"Accept": "application/json"},
            transport=transport,
        )

    async def query(self, body: dict[str, Any]) -> Any:
        """POST a native query to /druid/v2/ and return the decoded result JSON."""
        return await self.request("POST", QUERY_PATH, json_body=body)

    async def ping(self) -> None:
        """Return when the service reports healthy; BackendUnavailable otherwise."""
        answer = await self.request("GET", HEALTH_PATH)
        if answer is not True:
            raise BackendUnavailable(f"Druid at {self.url} reports unhealthy: {answer!r}")

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """Send one request and decode its JSON answer; keyart errors on any failure."""
        where = f"{self.url}{path}"
        try:
            response = await self._http.request(method, path, json=json_body, params=params)
        except httpx.TimeoutException as exc:
            raise BackendUnavailable(
                f"Druid at {where} did not answer within {self.timeout_s:g}s ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise BackendUnavailable(
                f"cannot reach Druid at {where} (timeout {self.timeout_s:g}s): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if response.is_error:  # 4xx and 5xx; the HTTP error is kept as the cause
            try:
                response.raise_for_status()
            except httpx.HTTPStatusError as exc:
                raise _status_error(where, response) from exc
        try:
            return response.json()
        except ValueError as exc:
            raise BackendUnavailable(
                f"Druid at {where} answered HTTP {response.status_code} with non-JSON: "
                f"{response.text[:200]!r}"
            ) from exc

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


def _status_error(where: str, response: httpx.Response) -> BackendQueryError | BackendUnavailable:
    """The keyart error for a Druid error answer, carrying Druid's own message: the
    query ran out of a per-query resource (ResourceLimitExceeded), was refused
    (QueryRejected), or the cluster cannot answer (BackendUnavailable)."""
    status = response.status_code
    body = _json_or_none(response)
    text = f"Druid at {where} answered HTTP {status}: {druid_error_message(response)}"
    if _is_resource_limit(body):
        return ResourceLimitExceeded(text)
    if _is_bad_query(status, body):
        return QueryRejected(text)
    return BackendUnavailable(text)


def _is_resource_limit(body: Any) -> bool:
    """Whether Druid's JSON error body is its "Resource limit exceeded" error (the legacy
    `error` code, the same code kept in a DruidException's context, or the class)."""
    if not isinstance(body, dict):
        return False
    context = body.get("context")
    legacy = context.get("legacyErrorCode") if isinstance(context, dict) else None
    return (
        RESOURCE_LIMIT in (body.get("error"), legacy)
        or body.get("errorClass") == _RESOURCE_LIMIT_CLASS
    )


def _is_bad_query(status: int, body: Any) -> bool:
    """Whether an error answer blames the query (QueryRejected) rather than the cluster."""
    if status in _BAD_QUERY_5XX or (400 <= status < 500 and status not in _UNAVAILABLE_4XX):
        return True
    if status != 500 or not isinstance(body, dict):
        return False
    if body.get("category") in _BAD_QUERY_CATEGORIES or body.get("persona") == "USER":
        return True
    cls = body.get("errorClass")
    return isinstance(cls, str) and cls.startswith(_BAD_QUERY_CLASS_PREFIXES)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def druid_error_message(response: httpx.Response) -> str:
    """Druid's error text from an error answer: `error: errorMessage (errorClass)`."""
    body = _json_or_none(response)
    if body is None:
        return response.text.strip()[:500] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:500]
    error = body.get("error")
    detail = body.get("errorMessage")
    cls = body.get("errorClass")
    parts = [str(p) for p in (error, detail) if p]
    text = ": ".join(parts) if parts else json.dumps(body)[:500]
    if cls:
        text += f" ({cls})"
    return text


__all__ = ["HEALTH_PATH", "QUERY_PATH", "DruidClient", "druid_error_message"]
