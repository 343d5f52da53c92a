"""Helpers to run the API app in-process over real HTTP semantics (httpx + ASGITransport,
lifespan included) and to send GraphQL requests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from keyart.backends.base import Backend
from keyart.config import ApiSettings
from keyart.schema import KeyartSchema
from keyart.server import create_app
from keyart.store.consumer import SnapshotConsumer


@contextlib.asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to `app`, with the app's lifespan (startup/shutdown) run."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://keyart.test", timeout=60
        ) as client:
            yield client


@contextlib.asynccontextmanager
async def api(
    warehouse: Path,
    *,
    backend: Backend | None = None,
    consumer: SnapshotConsumer | None = None,
    schema: KeyartSchema | None = None,
    **settings: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """A running app over `warehouse` (settings overridable) and a client for it; anonymous
    reads are allowed unless the test passes allow_anonymous=False (then it sends keys)."""
    settings.setdefault("allow_anonymous", True)
    app = create_app(
        ApiSettings(warehouse=warehouse, **settings),
        backend=backend,
        consumer=consumer,
        schema=schema,
    )
    async with running(app) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    operation: str | None = None,
) -> dict[str, Any]:
    """POST one GraphQL request; returns the decoded JSON body (data and errors)."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    if operation is not None:
        body["operationName"] = operation
    response = await client.post("/graphql", json=body)
    assert response.headers["content-type"].startswith("application/json"), response.text
    payload: dict[str, Any] = response.json()
    return payload


async def data(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The `data` of a request that must succeed without errors."""
    payload = await gql(client, query, variables)
    assert not payload.get("errors"), payload.get("errors")
    result: dict[str, Any] = payload["data"]
    return result


def codes(payload: dict[str, Any]) -> list[str]:
    """The extensions.code of every error of a response."""
    return [e.get("extensions", {}).get("code") for e in payload.get("errors") or []]


METRICS_FIELDS = """
  impressions qualifiedPlays playSeconds engagedPlays authenticity
  uniqueImpressions { value lower upper }
  uniquePlayers { value lower upper }
  takeRate { value lower upper }
"""
