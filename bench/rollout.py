"""What shadow traffic adds to the primary answer, and how long offline validation takes.

    python -m bench.rollout                      # tiny profile under /tmp/keyart-bench
    python -m bench.rollout --profile demo --requests 1000

Part 1: two `keyart serve` processes over one warehouse, result and response caches off
(every request reaches the backend, so every request's queries are offered to the
shadow): one plain, one with KEYART_SHADOW_BACKEND=legacy and KEYART_SHADOW_SAMPLE=1.0.
One client sends the same title-page requests to both in turn, so machine noise hits both
alike; the figure is the difference of their p50s (target: at most 1 ms). The shadow's
counts (match, mismatch, error, dropped) come from its /metrics. Part 2 times `offer()`
alone in process, the only shadow work on the request path. Part 3 times `keyart validate`
(embedded vs legacy) on the profile. Results: bench/results/rollout.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bench.common import markdown_table, percentiles, write_results
from bench.http import QUESTIONS, ensure_snapshot, ensure_warehouse, pick_parameters
from tests.e2e.server_process import ServerProcess

SUITE = "rollout"
TARGET_MS = 1.0  # issue 16: shadow at sample 1.0 adds at most 1 ms to the primary p50
_SHADOW = re.compile(r'^keyart_shadow_total\{result="(\w+)"\} ([0-9.e+]+)$', re.M)


def http_pair(
    warehouse: Path, snapshots: Path, requests: int, logs: Path, variables: list[dict[str, Any]]
) -> dict[str, Any]:
    """p50/p95/p99 (ms) of the plain and the shadowed server, requests interleaved."""
    common = {"KEYART_SNAPSHOT_DIR": str(snapshots), "KEYART_CACHE_TTL_S": "0"}
    args = ["serve", "--warehouse", str(warehouse)]
    servers = {
        "plain": ServerProcess(args, logs / "plain.log", common),
        "shadow": ServerProcess(
            args,
            logs / "shadow.log",
            {**common, "KEYART_SHADOW_BACKEND": "legacy", "KEYART_SHADOW_SAMPLE": "1.0"},
        ),
    }
    query = QUESTIONS["title_page"][1]
    samples: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for server in servers.values():
            server.wait_ready()
        clients = {name: httpx.Client(base_url=s.url, timeout=30) for name, s in servers.items()}
        for n in range(requests + 20):
            body = {"query": query, "variables": variables[n % len(variables)]}
            for name, client in clients.items():
                started = time.perf_counter()
                response = client.post("/graphql", json=body)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200 or response.json().get("errors"):
                    raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
                if n >= 20:  # warm-up: connections, parser and validation caches
                    samples[name].append(elapsed)
        counts = {k: float(v) for k, v in _SHADOW.findall(clients["shadow"].get("/metrics").text)}
        for client in clients.values():
            client.close()
    finally:
        for server in servers.values():
            server.stop()
    stats = {name: percentiles(values) for name, values in samples.items()}
    return {
        "plain": stats["plain"],
        "shadow": stats["shadow"],
        "added_p50_ms": stats["shadow"]["p50"] - stats["plain"]["p50"],
        "added_p99_ms": stats["shadow"]["p99"] - stats["plain"]["p99"],
        "shadow_counts": counts,
    }


async def offer_in_process(warehouse: Path, runs: int) -> dict[str, Any]:
    """Microseconds per `Shadow.offer` call (sampled in and queued, or dropped when full)."""
    from keyart.backends.legacy import LegacyBackend
    from keyart.query import Dimension, Interval, MetricQuery, QueryResult
    from keyart.rollout.pool import BackendPool
    from keyart.rollout.shadow import Shadow
    from keyart.warehouse.layout import Warehouse

    days = Warehouse(warehouse).current().days
    query = MetricQuery(Interval(days[0], days[-1]), group_by=(Dimension.TITLE,))
    legacy = LegacyBackend(warehouse)
    rows = []
    for name, size in (("queued", runs + 1), ("dropped (queue full)", 1)):
        shadow = Shadow("legacy", BackendPool(legacy, LegacyBackend), 1.0, queue_size=size)
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            shadow.offer(query, "v", None, "embedded", QueryResult(()))
            samples.append((time.perf_counter() - started) * 1e6)
        rows.append({"case": name, **percentiles(samples)})
    await legacy.aclose()
    return {"unit": "microseconds per call", "rows": rows}


def validate_time(warehouse: Path, work: Path, titles: int) -> dict[str, Any]:
    """Seconds `keyart validate --backend embedded --against legacy` takes, and its size."""
    import json

    from keyart.cli import main as cli

    report = work / "validate.json"
    started = time.perf_counter()
    code = cli(
        ["validate", "--warehouse", str(warehouse), "--backend", "embedded", "--no-progress",
         "--titles", str(titles), "--report", str(report),
         "--state-url", f"sqlite:///{(work / 'state.sqlite3').absolute()}"]
    )  # fmt: skip
    seconds = time.perf_counter() - started
    body = json.loads(report.read_text())
    return {
        "seconds": seconds,
        "exit_code": code,
        "titles": len(body["titles"]),
        "questions": body["questions"],
        "comparisons": body["comparisons"],
        "disagreements": len(body["disagreements"]),
    }


def render(payload: dict[str, Any]) -> str:
    """The Markdown report (of the parts that ran)."""
    load = payload["load_average"]
    head = (
        f"# Rollout: shadow traffic overhead and validation time ({payload['profile']} "
        f"profile)\n\n"
        f"Load average before/after: {load['before'][0]:.2f} / {load['after'][0]:.2f} "
        "(other work on the machine skews the figures).\n\n"
    )
    return head + _render_shadow(payload) + _render_validate(payload)


def _render_validate(payload: dict[str, Any]) -> str:
    v = payload["validate"]
    if v is None:
        return ""
    return (
        f"\n`keyart validate --backend embedded --against legacy`: {v['seconds']:.1f} s for "
        f"{v['titles']} titles, {v['questions']} questions, {v['comparisons']:,} values "
        f"compared, {v['disagreements']} disagreements (exit {v['exit_code']}).\n"
    )


def _render_shadow(payload: dict[str, Any]) -> str:
    pair = payload["http"]
    if pair is None:
        return ""
    rows = [
        {"server": name, **{k: pair[name][k] for k in ("p50", "p95", "p99")}}
        for name in ("plain", "shadow")
    ]
    rows[1]["added"] = pair["added_p50_ms"]
    counts = ", ".join(f"{k} {int(c)}" for k, c in sorted(pair["shadow_counts"].items()))
    return (
        f"Title-page request over HTTP (ms), caches off, {payload['requests']} requests per "
        "server, the two servers interleaved; shadow = KEYART_SHADOW_BACKEND=legacy, "
        "KEYART_SHADOW_SAMPLE=1.0:\n\n"
        + markdown_table(
            rows,
            ["server", "p50", "p95", "p99", ("added", f"added p50 (target ≤ {TARGET_MS:g} ms)")],
        )
        + f"\nShadow replays: {counts}.\n\n"
        "`Shadow.offer` alone, in process (µs per call):\n\n"
        + markdown_table(payload["offer"]["rows"], ["case", "p50", "p95", "p99"])
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the rollout benchmark and write bench/results/rollout.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.rollout", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--profile", choices=["tiny", "demo", "bench"], default="tiny")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=500, help="per server (default 500)")
    parser.add_argument("--offer-runs", type=int, default=20000, help="in-process offers")
    parser.add_argument("--titles", type=int, default=10, help="validate: titles per sample")
    parser.add_argument(
        "--parts", default="shadow,validate", help="shadow and/or validate (default both)"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)

    warehouse = ensure_warehouse(args.data / args.profile, args.profile, args.seed, 1.0)
    snapshots = ensure_snapshot(warehouse, None)
    variables = pick_parameters(warehouse, snapshots, 20)["title_page"]
    work = args.data / "rollout"
    work.mkdir(parents=True, exist_ok=True)
    parts = {p.strip() for p in args.parts.split(",")}
    load_before = os.getloadavg()
    pair = offer = validation = None
    if "shadow" in parts:
        pair = http_pair(warehouse, snapshots, args.requests, work, variables)
        offer = asyncio.run(offer_in_process(warehouse, args.offer_runs))
    if "validate" in parts:
        validation = validate_time(warehouse, work, args.titles)
    payload = {
        "profile": args.profile,
        "requests": args.requests,
        "measured_at": date.today().isoformat(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "http": pair,
        "offer": offer,
        "validate": validation,
        "target_ms": TARGET_MS,
    }
    name = SUITE if parts == {"shadow", "validate"} else f"{SUITE}-{args.profile}-{args.parts}"
    write_results(name, payload, render(payload))
    print(render(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
