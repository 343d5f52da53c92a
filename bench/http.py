"""The DESIGN §7 questions as GraphQL over real HTTP against `keyart serve` subprocesses.

    python -m bench.http                              # bench profile under /tmp/keyart-bench
    python -m bench.http --profile demo --requests 200
    python -m bench.http --concurrency 1,8 --skip-legacy

Builds the warehouse if missing (generate + ingest), then for each server configuration —
embedded with the result cache, embedded without it, and the exact legacy path (no cache)
— starts one uvicorn worker, waits for /readyz, measures its resident memory, and runs
every question at each concurrency with an httpx load generator (one process per 4
connections: one Python client cannot keep 32 busy, and with 8 it stalls a few
requests by ~0.4 s against any server). Each request of a cell
uses one of a pool of distinct variable sets (different titles and assets), so "uncached"
cells really reach the backend; "cached" cells are warmed first. Servers run one at a time
so they never compete for the 2 cores. Results: bench/results/http.json and http.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx

from bench.common import markdown_table, percentiles, write_results
from bench.loadgen import fan_out, variable_set
from tests.e2e.server_process import ServerProcess

RESULTS = Path(__file__).parent / "results"
SUITE = "http"

METRICS = """impressions qualifiedPlays playSeconds engagedPlays authenticity
  uniqueImpressions { value lower upper } uniquePlayers { value lower upper }
  takeRate { value lower upper }"""

QUESTIONS: dict[str, tuple[str, str]] = {
    "title_page": (
        "10 assets × 30-day metrics, country filter",
        f"""query TitlePage($ids: [ID!]!, $w: DateRange!, $f: MetricFilter) {{
  assets(ids: $ids) {{ id name type metrics(window: $w, filter: $f) {{ {METRICS} }} }} }}""",
    ),
    "affinity_90d": (
        "affinity breakdown of one asset over 90 days",
        f"""query Affinity($id: ID!, $w: DateRange!) {{
  asset(id: $id) {{ byAffinity(window: $w) {{ affinity lift metrics {{ {METRICS} }} }} }} }}""",
    ),
    "timeseries_180d": (
        "180-day daily time series of one asset",
        f"""query Series($id: ID!, $w: DateRange!) {{
  asset(id: $id) {{ timeseries(window: $w, granularity: DAY) {{ date metrics {{ {METRICS} }} }} }}
}}""",
    ),
    "alltime_50": (
        "all-time metrics + availability of 50 assets (snapshot)",
        f"""query AllTime($ids: [ID!]!) {{
  assets(ids: $ids) {{
    id allTime {{ {METRICS} }} availability {{ countries countryCount }} }} }}""",
    ),
}

TARGETS_MS = {  # DESIGN §7: p50 (and p99 for the title page)
    "title_page": {"p50": 30.0, "p99": 100.0},
    "affinity_90d": {"p50": 50.0},
    "timeseries_180d": {"p50": 50.0},
    "alltime_50": {"p50": 5.0},
}


@dataclass(frozen=True)
class ServerConfig:
    """One way to run the API: which backend, cache on or off."""

    name: str
    backend: str
    cached: bool


CONFIGS = (
    ServerConfig("embedded-cached", "embedded", True),
    ServerConfig("embedded-uncached", "embedded", False),
    ServerConfig("legacy-uncached", "legacy", False),
)


@dataclass
class Cell:
    """Latency figures of one question at one concurrency on one server configuration."""

    server: str
    question: str
    concurrency: int
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    throughput_rps: float
    elapsed_s: float
    error_samples: list[str] = field(default_factory=list)


# -- data ----------------------------------------------------------------------------


def ensure_warehouse(data: Path, profile: str, seed: int, scale: float) -> Path:
    """Generate and ingest the profile under `data` unless already done."""
    from keyart.demo import ensure_raw
    from keyart.demo import ensure_warehouse as ensure_wh

    folder = data if scale == 1.0 else data / f"scale-{scale:g}"
    if scale == 1.0:
        raw = ensure_raw(folder, profile, seed)
    else:
        raw = folder / "raw"
        marker = folder / "generated.json"
        wanted = {"profile": profile, "seed": seed, "scale": scale}
        if not (raw.is_dir() and marker.exists() and json.loads(marker.read_text()) == wanted):
            from keyart.etl.generator import generate

            folder.mkdir(parents=True, exist_ok=True)
            generate(profile, raw, seed=seed, scale=scale, progress=True)
            marker.write_text(json.dumps(wanted))
    return ensure_wh(folder, raw)


def ensure_snapshot(warehouse: Path, snapshot_dir: Path | None) -> Path:
    """The snapshot folder to serve: the warehouse's own, or `snapshot_dir` (published from
    the warehouse's current version when empty, leaving the warehouse untouched)."""
    from keyart.store.producer import SnapshotProducer
    from keyart.warehouse.layout import Warehouse

    folder = snapshot_dir if snapshot_dir is not None else warehouse / "snapshots"
    if not (folder / "announce.json").exists():
        SnapshotProducer(folder).publish(Warehouse(warehouse).current())
    return folder


def pick_parameters(warehouse: Path, snapshots: Path, pool: int) -> dict[str, Any]:
    """Realistic, distinct variable sets from the served snapshot: busy titles and assets."""
    from keyart.store.consumer import SnapshotConsumer
    from keyart.warehouse.layout import Warehouse

    snapshot = SnapshotConsumer(snapshots).load()
    days = Warehouse(warehouse).current().days
    last = days[-1]
    titles = sorted(
        (t for t in snapshot.titles.values() if len(t.asset_ids) >= 10),
        key=lambda t: -_impressions(snapshot.title_alltime.get(t.id)),
    )
    if not titles:
        titles = sorted(
            snapshot.titles.values(), key=lambda t: -_impressions(snapshot.title_alltime.get(t.id))
        )
    assets = sorted(snapshot.asset_alltime, key=lambda a: -snapshot.asset_alltime[a].impressions)
    countries = _top_countries(snapshot)
    all_assets = sorted(snapshot.assets)

    def window(n: int) -> dict[str, str]:
        start = max(days[0], last - timedelta(days=n - 1))
        return {"start": start.isoformat(), "end": last.isoformat()}

    def chunk(i: int, n: int) -> list[str]:
        start = (i * n) % max(1, len(all_assets) - n)
        return all_assets[start : start + n]

    return {
        "title_page": [
            {
                "ids": list(t.asset_ids[:10]),
                "w": window(30),
                "f": {"countries": [countries[i % len(countries)]]},
            }
            for i, t in enumerate(titles[:pool])
        ],
        "affinity_90d": [{"id": a, "w": window(90)} for a in assets[:pool]],
        "timeseries_180d": [{"id": a, "w": window(180)} for a in assets[:pool]],
        "alltime_50": [{"ids": chunk(i, 50)} for i in range(pool)],
        "days": [days[0].isoformat(), last.isoformat()],
        "titles": len(snapshot.titles),
        "assets": len(snapshot.assets),
    }


def _impressions(values: Any) -> int:
    return 0 if values is None else int(values.impressions)


def _top_countries(snapshot: Any) -> list[str]:
    counts: dict[str, int] = {}
    for countries in snapshot.title_countries.values():
        for c in countries:
            counts[c] = counts.get(c, 0) + 1
    return sorted(counts, key=lambda c: (-counts[c], c))[:10] or ["US"]


# -- server ----------------------------------------------------------------------------


def start_server(
    warehouse: Path, snapshots: Path, config: ServerConfig, log: Path
) -> ServerProcess:
    """A `keyart serve` subprocess of one configuration on a free localhost port."""
    env = {
        "KEYART_CACHE_TTL_S": "3600" if config.cached else "0",
        "KEYART_SNAPSHOT_DIR": str(snapshots),
        # time the embedded backend on its sorted serving copy, as served in production
        "KEYART_READY_REQUIRES_SERVING_COPY": "1" if config.backend == "embedded" else "0",
        # the load generator is one client: it measures serving, not the rate limit
        "KEYART_RATE_LIMIT": "off",
    }
    args = ["serve", "--warehouse", str(warehouse), "--backend", config.backend]
    return ServerProcess(args, log, env)


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- load generator ----------------------------------------------------------------------


CLIENT_CONCURRENCY = 4  # connections per load-generator process


@dataclass
class _Part:
    """What one load-generator process measured: latencies (s), errors, its time span."""

    latencies: list[float]
    errors: list[str]
    started: float
    ended: float


async def _generate_load(
    url: str,
    query: str,
    variables: list[dict[str, Any]],
    concurrency: int,
    requests: int,
    budget_s: float,
    offset: int,
    connections: int,
) -> _Part:
    """`requests` requests (or as many as fit in `budget_s`) by `concurrency` workers,
    workers `offset` .. `offset + concurrency - 1` of `connections` in all (over every
    load process), each sending the variable sets `loadgen.variable_set` gives it."""
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.monotonic()
    deadline = started + budget_s
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def worker(k: int) -> None:
            for nth, _ in enumerate(counter):
                if nth and time.monotonic() > deadline:
                    return
                chosen = variables[variable_set(k, nth, connections, len(variables))]
                body = {"query": query, "variables": chosen}
                t0 = time.perf_counter()
                try:
                    response = await client.post("/graphql", json=body)
                    payload = response.json()
                    ok = response.status_code == 200 and not payload.get("errors")
                except (httpx.HTTPError, ValueError) as exc:
                    ok, payload = False, {"errors": [repr(exc)]}
                latencies.append(time.perf_counter() - t0)
                if not ok:
                    errors.append(json.dumps(payload.get("errors"))[:300])

        await asyncio.gather(*(worker(offset + k) for k in range(concurrency)))
    return _Part(latencies, errors, started, time.monotonic())


def _generate_load_process(*args: Any) -> _Part:
    """_generate_load in a process of its own (ProcessPoolExecutor entry point)."""
    return asyncio.run(_generate_load(*args))


def run_cell(
    url: str,
    server: str,
    question: str,
    variables: list[dict[str, Any]],
    concurrency: int,
    requests: int,
    budget_s: float,
) -> Cell:
    """One cell: `requests` requests by `concurrency` connections. One Python client with
    many connections is slower than the server it measures (it shares the 2 cores) and, at
    8 connections, holds a few requests ~0.4 s even against a bare ASGI app, so above
    CLIENT_CONCURRENCY the connections are spread over processes."""
    head = (url, QUESTIONS[question][1], variables)
    parts = fan_out(
        _generate_load,
        _generate_load_process,
        head,
        concurrency,
        CLIENT_CONCURRENCY,
        requests,
        budget_s,
    )
    return cell_of(server, question, concurrency, parts)


class LoadPart(Protocol):
    """What a load-generator process measured (`_Part` here, `bench.loadgen.Part`)."""

    latencies: list[float]
    errors: list[str]
    started: float
    ended: float


def cell_of(server: str, question: str, concurrency: int, parts: Sequence[LoadPart]) -> Cell:
    """The figures of one cell from what its load-generator processes measured."""
    ms = [x * 1000 for part in parts for x in part.latencies]
    errors = [e for part in parts for e in part.errors]
    elapsed = max(p.ended for p in parts) - min(p.started for p in parts)
    p = percentiles(ms)
    return Cell(
        server=server,
        question=question,
        concurrency=concurrency,
        requests=len(ms),
        errors=len(errors),
        p50_ms=round(p["p50"], 2),
        p95_ms=round(p["p95"], 2),
        p99_ms=round(p["p99"], 2),
        mean_ms=round(statistics.fmean(ms), 2),
        throughput_rps=round(len(ms) / elapsed, 1),
        elapsed_s=round(elapsed, 2),
        error_samples=errors[:3],
    )


async def warm(url: str, question: str, variables: list[dict[str, Any]]) -> None:
    """One pass over the variable pool (fills the cache, warms DuckDB and the OS cache)."""
    query = QUESTIONS[question][1]
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        for v in variables:
            await client.post("/graphql", json={"query": query, "variables": v})


def bench_server(
    warehouse: Path,
    snapshots: Path,
    config: ServerConfig,
    params: dict[str, Any],
    concurrencies: list[int],
    requests: int,
    budget_s: float,
) -> tuple[list[Cell], dict[str, Any]]:
    """Start one server, measure it on every question and concurrency, stop it."""
    logs = Path(tempfile.gettempdir()) / "keyart-bench-http-logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{config.name}.log"
    server = start_server(warehouse, snapshots, config, log)
    cells: list[Cell] = []
    try:
        t0 = time.perf_counter()
        server.wait_ready(timeout_s=300)
        info: dict[str, Any] = {
            "startup_s": round(time.perf_counter() - t0, 2),
            "rss_mb_ready": round(rss_mb(server.process.pid), 1),
        }
        for question in QUESTIONS:
            if config.backend == "legacy" and question == "alltime_50":
                continue  # served from the snapshot: the backend plays no part
            asyncio.run(
                warm(server.url, question, params[question][: 8 if not config.cached else None])
            )
            for c in concurrencies:
                cell = run_cell(
                    server.url, config.name, question, params[question], c, requests, budget_s
                )
                print(
                    f"  {config.name:<18} {question:<16} c={c:<3} n={cell.requests:<5} "
                    f"p50={cell.p50_ms:8.2f} p95={cell.p95_ms:8.2f} p99={cell.p99_ms:8.2f} ms "
                    f"{cell.throughput_rps:8.1f} req/s errors={cell.errors}",
                    flush=True,
                )
                cells.append(cell)
        info["rss_mb_after"] = round(rss_mb(server.process.pid), 1)
        return cells, info
    finally:
        server.stop()


def speedups(cells: list[Cell]) -> list[dict[str, Any]]:
    """Legacy p50 / embedded-uncached p50 per question and concurrency."""
    index = {(c.server, c.question, c.concurrency): c for c in cells}
    out = []
    for (server, question, conc), cell in index.items():
        if server != "legacy-uncached":
            continue
        ours = index.get(("embedded-uncached", question, conc))
        if ours and ours.p50_ms > 0:
            out.append(
                {
                    "question": question,
                    "concurrency": conc,
                    "legacy_p50_ms": cell.p50_ms,
                    "embedded_p50_ms": ours.p50_ms,
                    "speedup_p50": round(cell.p50_ms / ours.p50_ms, 1),
                }
            )
    return out


def render(payload: dict[str, Any]) -> str:
    """The markdown report."""
    data = payload["data"]
    servers = [{"server": name, **info} for name, info in payload["servers"].items()]
    targets_rows = [
        {**t, "target": f"{t['stat']} <= {t['target_ms']} ms"} for t in payload["targets"]
    ]
    speedup_rows = [{**s, "speedup": f"{s['speedup_p50']}x"} for s in payload["speedups"]]
    lines = [
        "# HTTP benchmark (DESIGN §7 questions over real HTTP)",
        "",
        f"profile `{payload['profile']}` scale {payload['scale']}: {data['titles']} titles, "
        f"{data['assets']} assets, days {data['days'][0]} .. {data['days'][1]}. One uvicorn "
        "worker per server; servers measured one at a time; every request of a cell draws "
        "one of a pool of distinct variable sets (uncached cells reach the backend). "
        f"Machine load average (1/5/15 min) before {_load(payload['load_average']['before'])}, "
        f"after {_load(payload['load_average']['after'])} on {os.cpu_count()} cores.",
        "",
        "## Latency (ms) and throughput",
        "",
        markdown_table(
            payload["cells"],
            [
                "server",
                "question",
                ("concurrency", "conc"),
                ("requests", "n"),
                ("errors", "err"),
                ("p50_ms", "p50"),
                ("p95_ms", "p95"),
                ("p99_ms", "p99"),
                ("throughput_rps", "req/s"),
            ],
        ),
        "## Legacy exact path vs embedded (both uncached, p50 ms)",
        "",
        markdown_table(
            speedup_rows,
            [
                "question",
                ("concurrency", "conc"),
                ("legacy_p50_ms", "legacy"),
                ("embedded_p50_ms", "embedded"),
                "speedup",
            ],
        ),
        "## DESIGN §7 targets at concurrency 1",
        "",
        markdown_table(
            targets_rows, ["question", "server", "target", ("measured_ms", "measured"), "met"]
        ),
        "## Server processes (resident memory from /proc/<pid>/status)",
        "",
        markdown_table(
            servers,
            [
                "server",
                ("startup_s", "startup s"),
                ("rss_mb_ready", "RSS MiB ready"),
                ("rss_mb_after", "RSS MiB after"),
            ],
        ),
    ]
    return "\n".join(lines) + "\n"


def _load(values: Sequence[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def targets(cells: list[Cell]) -> list[dict[str, Any]]:
    """DESIGN §7 targets checked on the concurrency-1 cells of the embedded servers."""
    out = []
    for cell in cells:
        if cell.concurrency != 1 or not cell.server.startswith("embedded"):
            continue
        for stat, target in TARGETS_MS.get(cell.question, {}).items():
            measured = getattr(cell, f"{stat}_ms")
            out.append(
                {
                    "question": cell.question,
                    "server": cell.server,
                    "stat": stat,
                    "target_ms": target,
                    "measured_ms": measured,
                    "met": measured <= target,
                }
            )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the HTTP benchmark and write bench/results/http.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--profile", choices=["tiny", "demo", "bench"], default="bench")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--requests", type=int, default=300, help="per cell")
    parser.add_argument("--budget", type=float, default=30.0, help="max seconds per cell")
    parser.add_argument("--pool", type=int, default=64, help="distinct variable sets")
    parser.add_argument("--skip-legacy", action="store_true")
    parser.add_argument("--warehouse", type=Path, default=None, help="use this warehouse")
    parser.add_argument(
        "--snapshot-dir", type=Path, default=None, help="serve snapshots from here instead"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)

    warehouse = args.warehouse or ensure_warehouse(
        args.data / args.profile, args.profile, args.seed, args.scale
    )
    snapshots = ensure_snapshot(warehouse, args.snapshot_dir)
    params = pick_parameters(warehouse, snapshots, args.pool)
    concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    cells: list[Cell] = []
    servers: dict[str, Any] = {}
    load_before = os.getloadavg()
    for config in CONFIGS:
        if args.skip_legacy and config.backend == "legacy":
            continue
        print(f"== {config.name}", flush=True)
        got, info = bench_server(
            warehouse, snapshots, config, params, concurrencies, args.requests, args.budget
        )
        cells += got
        servers[config.name] = info
    payload = {
        "profile": args.profile,
        "scale": args.scale,
        "warehouse": str(warehouse),
        "measured_at": date.today().isoformat(),
        "data": {k: params[k] for k in ("days", "titles", "assets")},
        # other work on the machine skews every figure: record how busy it was
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "questions": {k: v[0] for k, v in QUESTIONS.items()},
        "servers": servers,
        "cells": [asdict(c) for c in cells],
        "speedups": speedups(cells),
        "targets": targets(cells),
    }
    write_results(SUITE, payload, render(payload))
    print(render(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
