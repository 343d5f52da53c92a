"""What API keys and rate limiting add to a title-page request.

    python -m bench.access                      # tiny profile under /tmp/keyart-bench
    python -m bench.access --profile demo --requests 2000

Two `keyart serve` processes over one warehouse, one open (anonymous, no rate limit) and
one requiring a key with a per-key moving-window rate limit high enough never to refuse;
each is run with the response cache on (the cheapest request, where the overhead weighs
most) and off (the title page reaches the backend). One client sends the same title-page
request to the paired servers in turn, so machine noise hits both alike; the figure is the
difference of their p50s. A second part times the access gate alone in process (ASGI
calls, no HTTP), the most precise view of its cost. Results: bench/results/access.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bench.common import markdown_table, percentiles, write_results
from bench.http import QUESTIONS, ensure_snapshot, ensure_warehouse, pick_parameters
from tests.e2e.server_process import ServerProcess

SUITE = "access"
TARGET_MS = 1.0  # issue 11: keys + rate limiting add under 1 ms to a title-page request
HIGH_LIMIT = "1000000/minute"  # the limiter does its work but never refuses


def create_key(state_url: str) -> str:
    """A read key in the benchmark's own state store."""
    from keyart.state import KeyStore, StateStore

    store = StateStore.open(state_url)
    try:
        return KeyStore(store).create(f"bench-{time.time_ns()}", "read")[1]
    finally:
        store.close()


def http_pair(
    warehouse: Path, snapshots: Path, state_url: str, token: str, cached: bool, requests: int,
    logs: Path, variables: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """p50/p95/p99 (ms) of the open and the keyed server, requests interleaved."""
    common = {
        "KEYART_SNAPSHOT_DIR": str(snapshots),
        "KEYART_CACHE_TTL_S": "3600" if cached else "0",
        "KEYART_STATE_URL": state_url,
    }
    args = ["serve", "--warehouse", str(warehouse)]
    servers = {
        "open": ServerProcess(
            args, logs / "open.log", {**common, "KEYART_RATE_LIMIT": "off"}, anonymous=True
        ),
        "keys": ServerProcess(
            args, logs / "keys.log", {**common, "KEYART_RATE_LIMIT": HIGH_LIMIT}, anonymous=False
        ),
    }
    query = QUESTIONS["title_page"][1]
    body = {"query": query, "variables": variables}
    samples: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for server in servers.values():
            server.wait_ready()
        headers = {"open": {}, "keys": {"Authorization": f"Bearer {token}"}}
        clients = {name: httpx.Client(base_url=s.url, timeout=30) for name, s in servers.items()}
        for n in range(requests + 20):
            for name, client in clients.items():
                started = time.perf_counter()
                response = client.post("/graphql", json=body, headers=headers[name])
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200 or response.json().get("errors"):
                    raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
                if n >= 20:  # warm-up: connections, parser and validation caches
                    samples[name].append(elapsed)
        for client in clients.values():
            client.close()
    finally:
        for server in servers.values():
            server.stop()
    stats = {name: percentiles(values) for name, values in samples.items()}
    return {
        "response_cache": cached,
        "open": stats["open"],
        "keys": stats["keys"],
        "added_p50_ms": stats["keys"]["p50"] - stats["open"]["p50"],
    }


async def gate_in_process(state_url: str, token: str, runs: int) -> dict[str, Any]:
    """Microseconds per ASGI call of the access gate around an app that answers at once."""
    from starlette.types import ASGIApp, Message

    from keyart.access.gate import AccessGate
    from keyart.access.ratelimit import RateLimiter
    from keyart.access.verifier import KeyVerifier
    from keyart.state import KeyStore, StateStore

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    store = StateStore.open(state_url)
    verifier = KeyVerifier(KeyStore(store), ttl_s=5.0)
    gates: dict[str, ASGIApp] = {
        "bare app": app,
        "gate, anonymous, no limit": AccessGate(
            app, verifier=verifier, limiter=RateLimiter("off"), allow_anonymous=True
        ),
        "gate, key + rate limit": AccessGate(
            app, verifier=verifier, limiter=RateLimiter(HIGH_LIMIT), allow_anonymous=False
        ),
    }
    auth = [(b"authorization", f"Bearer {token}".encode())]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    rows = []
    for name, gate in gates.items():
        samples = []
        for n in range(runs + 100):
            scope = {
                "type": "http", "method": "POST", "path": "/graphql", "query_string": b"",
                "headers": list(auth), "client": ("127.0.0.1", 5000),
            }  # fmt: skip
            started = time.perf_counter()
            await gate(scope, receive, send)
            if n >= 100:
                samples.append((time.perf_counter() - started) * 1e6)
        if set(statuses) != {200}:
            raise RuntimeError(f"{name}: statuses {sorted(set(statuses))}")
        rows.append({"layer": name, **percentiles(samples)})
    store.close()
    return {"unit": "microseconds per call", "rows": rows}


COLUMNS: list[str | tuple[str, str]] = [
    ("cache", "response cache"),
    "server",
    "p50",
    "p95",
    "p99",
    ("added", f"added p50 (target < {TARGET_MS:g} ms)"),
]


def render(payload: dict[str, Any]) -> str:
    """The Markdown report."""
    rows = []
    for pair in payload["http"]:
        for name in ("open", "keys"):
            s = pair[name]
            rows.append(
                {
                    "cache": "on" if pair["response_cache"] else "off",
                    "server": "anonymous, no limit" if name == "open" else "key + rate limit",
                    "p50": s["p50"],
                    "p95": s["p95"],
                    "p99": s["p99"],
                    "added": pair["added_p50_ms"] if name == "keys" else None,
                }
            )
    gate = payload["gate"]["rows"]
    load = payload["load_average"]
    return (
        f"# Access: what keys + rate limiting add ({payload['profile']} profile, "
        f"{payload['requests']} requests per server)\n\n"
        f"Load average before/after: {load['before'][0]:.2f} / {load['after'][0]:.2f} "
        "(other work on the machine skews the figures).\n\n"
        "Title-page request over HTTP (ms), the two servers of a pair interleaved:\n\n"
        + markdown_table(rows, COLUMNS)
        + "\nThe access gate alone, in process (µs per ASGI call):\n\n"
        + markdown_table(gate, ["layer", "p50", "p95", "p99"])
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the access benchmark and write bench/results/access.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.access", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--profile", choices=["tiny", "demo", "bench"], default="tiny")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=1000, help="per server (default 1000)")
    parser.add_argument("--gate-runs", type=int, default=20000, help="in-process calls")
    args = parser.parse_args(list(argv) if argv is not None else None)

    warehouse = ensure_warehouse(args.data / args.profile, args.profile, args.seed, 1.0)
    snapshots = ensure_snapshot(warehouse, None)
    variables = pick_parameters(warehouse, snapshots, 1)["title_page"][0]
    work = args.data / "access"
    work.mkdir(parents=True, exist_ok=True)
    state_url = f"sqlite:///{(work / 'state.sqlite3').absolute()}"
    token = create_key(state_url)
    load_before = os.getloadavg()
    pairs = [
        http_pair(warehouse, snapshots, state_url, token, cached, args.requests, work, variables)
        for cached in (True, False)
    ]
    gate = asyncio.run(gate_in_process(state_url, token, args.gate_runs))
    payload = {
        "profile": args.profile,
        "requests": args.requests,
        "measured_at": date.today().isoformat(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "http": pairs,
        "gate": gate,
        "target_ms": TARGET_MS,
    }
    write_results(SUITE, payload, render(payload))
    print(render(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
