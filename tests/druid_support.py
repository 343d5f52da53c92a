"""Locates the real Druid cluster for `@pytest.mark.druid` tests: skip when absent, or fail.

Start the cluster with `make druid-up`. Endpoints come from the environment:
- `KEYART_DRUID_URL` — broker (default http://127.0.0.1:8082, the same variable the API reads);
- `KEYART_DRUID_COORDINATOR_URL` — coordinator (default: the broker's host on port 8081);
- `KEYART_DRUID_OVERLORD_URL` — overlord (default: the coordinator, which runs the overlord
  in the local cluster).
With `KEYART_REQUIRE_DRUID=1` (CI) an unreachable cluster fails the test instead of skipping.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

DEFAULT_BROKER = "http://127.0.0.1:8082"
COORDINATOR_PORT = 8081
PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class DruidEndpoints:
    """Base URLs (no trailing slash) of the broker, coordinator and overlord."""

    broker: str
    coordinator: str
    overlord: str


def configured_endpoints(env: Mapping[str, str] | None = None) -> DruidEndpoints:
    """The endpoints the environment names (nothing is contacted)."""
    env = os.environ if env is None else env
    broker = env.get("KEYART_DRUID_URL", DEFAULT_BROKER).rstrip("/")
    coordinator = env.get("KEYART_DRUID_COORDINATOR_URL") or _same_host(broker, COORDINATOR_PORT)
    overlord = env.get("KEYART_DRUID_OVERLORD_URL") or coordinator
    return DruidEndpoints(broker, coordinator.rstrip("/"), overlord.rstrip("/"))


def druid_required(env: Mapping[str, str] | None = None) -> bool:
    """True when the environment demands a live cluster (`KEYART_REQUIRE_DRUID=1`)."""
    env = os.environ if env is None else env
    return env.get("KEYART_REQUIRE_DRUID", "") == "1"


def druid_endpoints_or_skip() -> DruidEndpoints:
    """The live cluster's endpoints; skips the test when it is down (fails when required)."""
    endpoints = configured_endpoints()
    problem = _probe(endpoints)
    if problem is None:
        return endpoints
    message = f"Druid cluster not available ({problem}); start it with `make druid-up`"
    if druid_required():
        pytest.fail(f"KEYART_REQUIRE_DRUID=1 but {message}", pytrace=False)
    pytest.skip(message)


def _same_host(url: str, port: int) -> str:
    """`url` with its port replaced."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    return urlunsplit((parts.scheme or "http", f"{host}:{port}", "", "", ""))


@functools.cache
def _probe(endpoints: DruidEndpoints) -> str | None:
    """None when broker, coordinator and overlord all answer healthy; else what is wrong."""
    checks = (
        ("broker", f"{endpoints.broker}/status/health"),
        ("coordinator", f"{endpoints.coordinator}/status/health"),
        ("overlord", f"{endpoints.overlord}/druid/indexer/v1/isLeader"),
    )
    for name, url in checks:
        try:
            response = httpx.get(url, timeout=PROBE_TIMEOUT_S)
        except httpx.HTTPError as exc:
            return f"{name} at {url}: {type(exc).__name__}: {exc}"
        if response.status_code != 200:
            return f"{name} at {url}: HTTP {response.status_code}"
        if name == "overlord" and response.json().get("leader") is not True:
            return f"overlord at {url} is not the leader"
        if name != "overlord" and response.json() is not True:
            return f"{name} at {url} answered {response.text[:80]!r}"
    return None
