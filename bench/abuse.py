"""Overload and abuse against `keyart serve` over real HTTP (issue 11): what the request
limits cost and what they protect.

    python -m bench.abuse                          # demo profile under /tmp/keyart-bench
    python -m bench.abuse --profile bench --seconds 20

One uvicorn worker with the default limits and no result cache (every admitted request
reaches the backend), its serving copy built before measuring. Each scenario runs for a
fixed time while a separate process asks /healthz every 20 ms:

- idle: /healthz alone (the baseline of the same run);
- amplification: 4 clients sending the issue's query — titles(first: 500) × every asset ×
  byAffinity/byCountry/timeseries over a year, four aliases — refused by its cost;
- amplification, cost limit off: the same query on a second server with no practical cost
  budget, so that only the execution deadline and the response-size cap stop it;
- 50 MB bodies: 4 clients posting 50 MB bodies, refused while streaming;
- 32 uncached clients: title pages (10 assets × 30-day metrics, country filter) with
  distinct variables from 32 connections spread over 8 processes; a client told 503
  waits its Retry-After before its next request, as a well-behaved client does.

Two more servers give the same run's baselines: one with no practical cost budget (the
deadline, the response-size cap and admission alone meet the amplification query), and
one with every limit off (as the server was before them).

Reported: /healthz p50/p99 during each, admitted-request p50/p99, share of 503s, and the
cost analysis itself on a title-page request (its p50 with and without the cost limiter,
in process over the ASGI app, warm cache so that nothing else dominates).
Results: bench/results/abuse.json and abuse.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.common import environment, markdown_table, percentiles, write_results
from bench.http import QUESTIONS, ensure_snapshot, ensure_warehouse, pick_parameters, rss_mb
from bench.loadgen import variable_set
from tests.e2e.server_process import ServerProcess

SUITE = "abuse"
HEALTH_EVERY_S = 0.02
BIG_BODY = 50 << 20
CLIENTS_PER_PROCESS = 4
TITLE_PAGES = "32 uncached clients"
DEFAULT_SCENARIOS = [("idle", 0), ("amplification", 4), ("50 MB bodies", 4), (TITLE_PAGES, 32)]
NO_LIMITS = {
    "KEYART_MAX_QUERY_COST": str(10**12),
    "KEYART_EXECUTION_TIMEOUT_S": "3600",
    "KEYART_MAX_RESPONSE_BYTES": str(1 << 40),
    "KEYART_MAX_BODY_BYTES": str(1 << 40),
    "KEYART_MAX_INFLIGHT": "100000",
    "KEYART_PARSER_CACHE_MAX_CHARS": str(1 << 40),
}


def amplification_query(last_day: str) -> str:
    """The issue's amplification query over the year before `last_day`."""
    from datetime import date, timedelta

    end = date.fromisoformat(last_day)
    window = f'{{start: "{(end - timedelta(days=365)).isoformat()}", end: "{end.isoformat()}"}}'
    metrics = "metrics { impressions qualifiedPlays uniqueImpressions { value lower upper } }"
    fields = (
        f"byAffinity(window: {window}) {{ affinity lift {metrics} }} "
        f"byCountry(window: {window}) {{ country {metrics} }} "
        f"timeseries(window: {window}) {{ date {metrics} }}"
    )
    aliases = " ".join(
        f"a{i}: titles(first: 500) {{ edges {{ node {{ id assets {{ id {fields} }} }} }} }}"
        for i in range(4)
    )
    return "{ " + aliases + " }"


# -- load generator processes ------------------------------------------------------------


def probe_health(url: str, seconds: float) -> list[float]:
    """Latencies (ms) of /healthz asked every HEALTH_EVERY_S for `seconds`; a failed probe
    counts as the time it took plus a marker value of 10 s."""
    samples: list[float] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                ok = client.get("/healthz").status_code == 200
            except httpx.HTTPError:
                ok = False
            samples.append((time.perf_counter() - started) * 1000 + (0 if ok else 10_000))
            time.sleep(HEALTH_EVERY_S)
    return samples


async def _clients(
    url: str, bodies: list[bytes], clients: int, seconds: float, offset: int, total: int
) -> list[tuple[float, int, str]]:
    """(latency ms, status, error code) of every request `clients` connections sent
    (connections `offset`.. of `total`). With at least as many bodies as connections, no
    two requests in flight are the same (loadgen.variable_set: the server would merge
    them); fewer bodies (one abusive body sent by everyone) repeat."""
    out: list[tuple[float, int, str]] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    stop = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def worker(k: int) -> None:
            nth = 0
            while time.monotonic() < stop:
                if len(bodies) >= total:
                    body = bodies[variable_set(k, nth, total, len(bodies))]
                else:
                    body = bodies[(k + nth) % len(bodies)]
                nth += 1
                started = time.perf_counter()
                try:
                    response = await client.post(
                        "/graphql", content=body, headers={"content-type": "application/json"}
                    )
                    status = response.status_code
                    code = _code(response)
                except httpx.HTTPError as exc:
                    status, code = 0, type(exc).__name__
                    response = None
                out.append(((time.perf_counter() - started) * 1000, status, code))
                if status == 503 and response is not None:
                    # a well-behaved client waits as told instead of retrying at once
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))

        await asyncio.gather(*(worker(offset + k) for k in range(clients)))
    return out


def _code(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors")
    except ValueError:
        return "not-json"
    if not errors:
        return ""
    return str(errors[0].get("extensions", {}).get("code", "?"))


def run_clients(
    url: str, bodies: list[bytes], clients: int, seconds: float, offset: int, total: int
) -> Any:
    """_clients in a process of its own (ProcessPoolExecutor entry point)."""
    return asyncio.run(_clients(url, bodies, clients, seconds, offset, total))


# -- scenarios ---------------------------------------------------------------------------


def scenario(
    pool: ProcessPoolExecutor,
    name: str,
    url: str,
    bodies: list[bytes],
    clients: int,
    seconds: float,
    pid: int,
) -> dict[str, Any]:
    """Run `clients` connections sending `bodies` for `seconds` with a /healthz prober."""
    probe: Future[list[float]] = pool.submit(probe_health, url, seconds)
    parts: list[Future[Any]] = []
    for p in range(0, clients, CLIENTS_PER_PROCESS):
        n = min(CLIENTS_PER_PROCESS, clients - p)
        parts.append(pool.submit(run_clients, url, bodies, n, seconds, p, clients))
    health = probe.result()
    requests = [r for part in parts for r in part.result()]
    row: dict[str, Any] = {"scenario": name, "clients": clients, "requests": len(requests)}
    h = percentiles(health)
    row.update(health_p50_ms=round(h["p50"], 1), health_p99_ms=round(h["p99"], 1))
    row["health_max_ms"] = round(h["max"], 1)
    if requests:
        admitted = [ms for ms, status, code in requests if status == 200 and not code]
        row["admitted"] = len(admitted)
        row["share_503"] = round(sum(1 for _, s, _ in requests if s == 503) / len(requests), 3)
        codes: dict[str, int] = {}
        for _, status, code in requests:
            label = f"{status} {code}".strip()
            codes[label] = codes.get(label, 0) + 1
        row["answers"] = ", ".join(f"{k}: {v}" for k, v in sorted(codes.items()))
        if admitted:
            a = percentiles(admitted)
            row.update(admitted_p50_ms=round(a["p50"], 1), admitted_p99_ms=round(a["p99"], 1))
        every = percentiles([ms for ms, _, _ in requests])
        row.update(all_p50_ms=round(every["p50"], 1), all_p99_ms=round(every["p99"], 1))
        row["throughput_rps"] = round(len(requests) / seconds, 1)
    row["rss_mb_after"] = round(rss_mb(pid), 1)
    print(
        "  "
        + " ".join(f"{k}={v}" for k, v in row.items() if k not in ("answers",))
        + f"\n    {row.get('answers', '')}",
        flush=True,
    )
    return row


def title_page_bodies(params: dict[str, Any]) -> list[bytes]:
    """Distinct title-page requests (one per busy title)."""
    query = QUESTIONS["title_page"][1]
    return [json.dumps({"query": query, "variables": v}).encode() for v in params["title_page"]]


def measure_server(
    warehouse: Path,
    snapshots: Path,
    params: dict[str, Any],
    seconds: float,
    extra_env: dict[str, str],
    scenarios: Sequence[tuple[str, int]],
    log: Path,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Start one server, run the scenarios against it, stop it."""
    env = {
        "KEYART_CACHE_TTL_S": "0",
        "KEYART_SNAPSHOT_DIR": str(snapshots),
        "KEYART_READY_REQUIRES_SERVING_COPY": "1",
        **extra_env,
    }
    server = ServerProcess(["serve", "--warehouse", str(warehouse)], log, env)
    rows: list[dict[str, Any]] = []
    amplification = json.dumps({"query": amplification_query(params["days"][1])}).encode()
    big = b'{"query": "' + b" " * BIG_BODY + b'{ dataVersion }"}'
    context = multiprocessing.get_context("spawn")
    try:
        server.wait_ready(timeout_s=600)
        info = {"rss_mb_ready": round(rss_mb(server.process.pid), 1)}
        with ProcessPoolExecutor(max_workers=10, mp_context=context) as pool:
            # start every worker interpreter before measuring anything
            list(pool.map(probe_health, [server.url] * 10, [0.0] * 10))
            pid = server.process.pid
            for name, clients in scenarios:
                if name == "idle":
                    bodies: list[bytes] = []
                elif name == "amplification":
                    bodies = [amplification]
                elif name == "50 MB bodies":
                    bodies = [big]
                else:
                    bodies = title_page_bodies(params)
                rows.append(scenario(pool, name, server.url, bodies, clients, seconds, pid))
        info["rss_mb_after"] = round(rss_mb(server.process.pid), 1)
        return rows, info
    finally:
        server.stop()


# -- cost analysis overhead ----------------------------------------------------------------


async def cost_overhead(warehouse: Path, snapshots: Path, params: dict[str, Any], runs: int) -> Any:
    """p50/p99 of a warm title-page request over the ASGI app with and without the cost
    limiter (interleaved), and of the estimate alone."""
    from graphql import parse

    from keyart.config import ApiSettings
    from keyart.schema import build_schema
    from keyart.schema.cost import Fanout, QueryCostLimiter, estimate_cost
    from keyart.store.consumer import SnapshotConsumer
    from tests.e2e.harness import api

    query = QUESTIONS["title_page"][1]
    variables = params["title_page"][0]
    with_cost = build_schema(ApiSettings(warehouse=warehouse))
    without = build_schema(ApiSettings(warehouse=warehouse))
    without.extensions = tuple(
        e for e in without.extensions if not isinstance(_made(e), QueryCostLimiter)
    )
    samples: dict[str, list[float]] = {"with": [], "without": []}
    # the response cache is off so each request executes; the result cache stays warm
    settings: dict[str, Any] = {"snapshot_dir": snapshots, "cache_ttl_s": 3600}
    async with (
        api(warehouse, schema=with_cost, **settings) as on,
        api(warehouse, schema=without, **settings) as off,
    ):
        for client in (on, off):
            client.app.state.keyart.responses = None  # type: ignore[attr-defined]
            for _ in range(20):
                await client.post("/graphql", json={"query": query, "variables": variables})
        for _ in range(runs):
            for name, client in (("with", on), ("without", off)):
                started = time.perf_counter()
                response = await client.post(
                    "/graphql", json={"query": query, "variables": variables}
                )
                samples[name].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200 and not response.json().get("errors")
    document = parse(query)
    fanout = Fanout.of(SnapshotConsumer(snapshots).load())
    schema = with_cost._schema
    alone: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        cost = estimate_cost(schema, document, variables=variables, fanout=fanout)
        alone.append((time.perf_counter() - started) * 1000)
    w, wo, a = percentiles(samples["with"]), percentiles(samples["without"]), percentiles(alone)
    return {
        "runs": runs,
        "title_page_cost": cost,
        "with_p50_ms": round(w["p50"], 3),
        "with_p99_ms": round(w["p99"], 3),
        "without_p50_ms": round(wo["p50"], 3),
        "without_p99_ms": round(wo["p99"], 3),
        "added_p50_ms": round(w["p50"] - wo["p50"], 3),
        "estimate_p50_ms": round(a["p50"], 4),
        "estimate_p99_ms": round(a["p99"], 4),
    }


def _made(factory: Any) -> Any:
    """The extension a schema's extension entry makes (a class or a factory)."""
    return factory() if callable(factory) else factory


# -- report --------------------------------------------------------------------------------


def render(payload: dict[str, Any]) -> str:
    """The markdown report."""
    data = payload["data"]
    cost = payload["cost_analysis"]
    lines = [
        "# Overload and abuse benchmark",
        "",
        f"profile `{payload['profile']}`: {data['titles']} titles, {data['assets']} assets, "
        f"days {data['days'][0]} .. {data['days'][1]}. One uvicorn worker, default limits "
        f"({_defaults()}), no result cache; {payload['seconds']} s per scenario; "
        f"/healthz probed every {HEALTH_EVERY_S * 1000:.0f} ms from a separate process. "
        "Machine load average (1/5/15 min) before "
        f"{_load(payload['load_average']['before'])}, "
        f"after {_load(payload['load_average']['after'])} on {os.cpu_count()} cores "
        "(shared with other work: figures are noisy).",
        "",
        "## Scenarios",
        "",
        markdown_table(
            payload["scenarios"],
            [
                "server",
                "scenario",
                "clients",
                ("requests", "n"),
                ("health_p50_ms", "healthz p50"),
                ("health_p99_ms", "healthz p99"),
                ("health_max_ms", "healthz max"),
                ("admitted_p50_ms", "admitted p50"),
                ("admitted_p99_ms", "admitted p99"),
                ("all_p50_ms", "all p50"),
                ("all_p99_ms", "all p99"),
                ("share_503", "503 share"),
                ("throughput_rps", "req/s"),
                ("rss_mb_after", "RSS MiB"),
            ],
        ),
        "Answers per scenario (HTTP status and error code):",
        "",
        *[
            f"- {r['server']} / {r['scenario']}: {r.get('answers', '-')}"
            for r in payload["scenarios"]
        ],
        "",
        "## What cost analysis adds to a title-page request (ms, in process, warm cache)",
        "",
        markdown_table(
            [cost],
            [
                ("title_page_cost", "cost"),
                ("with_p50_ms", "p50 with"),
                ("without_p50_ms", "p50 without"),
                ("added_p50_ms", "added p50"),
                ("with_p99_ms", "p99 with"),
                ("without_p99_ms", "p99 without"),
                ("estimate_p50_ms", "estimate alone p50"),
                ("estimate_p99_ms", "estimate alone p99"),
            ],
        ),
        f"Target: under 1 ms added at p50 — {'met' if cost['added_p50_ms'] < 1 else 'NOT met'}.",
    ]
    return "\n".join(lines) + "\n"


def _defaults() -> str:
    from keyart.config import ApiSettings

    d = ApiSettings()
    return (
        f"cost {d.max_query_cost:,}, deadline {d.execution_timeout_s:g} s, "
        f"{d.max_inflight} in flight + {d.max_queued} queued for up to {d.queue_timeout_s:g} s, "
        f"{d.max_body_bytes >> 20} MiB bodies, {d.max_response_bytes >> 20} MiB answers"
    )


def _load(values: Sequence[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the abuse benchmark and write bench/results/abuse.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.abuse", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--profile", choices=["tiny", "demo", "bench"], default="demo")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario")
    parser.add_argument("--runs", type=int, default=300, help="cost-overhead samples")
    parser.add_argument("--snapshot-dir", type=Path, default=None)
    opts, _ = parser.parse_known_args(argv)
    warehouse = ensure_warehouse(opts.data / opts.profile, opts.profile, opts.seed, 1.0)
    snapshots = ensure_snapshot(warehouse, opts.snapshot_dir)
    params = pick_parameters(warehouse, snapshots, 64)
    logs = Path(tempfile.gettempdir()) / "keyart-bench-abuse-logs"
    logs.mkdir(parents=True, exist_ok=True)
    before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    servers: dict[str, Any] = {}
    plans = [
        ("limits (defaults)", {}, DEFAULT_SCENARIOS),
        # the deadline, response cap and admission alone against the amplification query
        ("cost limit off", {"KEYART_MAX_QUERY_COST": str(10**12)}, [("amplification", 1)]),
        # the server as it was before the limits: the baseline of the same run
        (
            "all limits off",
            NO_LIMITS,
            [(TITLE_PAGES, 32), ("50 MB bodies", 1), ("amplification", 1)],
        ),
    ]
    for server_name, env, scenarios in plans:
        print(f"server: {server_name}", flush=True)
        found, info = measure_server(
            warehouse, snapshots, params, opts.seconds, env, scenarios, logs / f"{server_name}.log"
        )
        rows += [{"server": server_name, **r} for r in found]
        servers[server_name] = info
    cost = asyncio.run(cost_overhead(warehouse, snapshots, params, opts.runs))
    print(f"  cost analysis: {cost}", flush=True)
    payload = {
        "suite": SUITE,
        "profile": opts.profile,
        "seconds": opts.seconds,
        "data": {k: params[k] for k in ("days", "titles", "assets")},
        "scenarios": rows,
        "servers": servers,
        "cost_analysis": cost,
        "load_average": {"before": before, "after": os.getloadavg()},
        "environment": environment(),
    }
    write_results(SUITE, payload, render(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["amplification_query", "main"]
