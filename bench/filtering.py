"""Catalog-wide rankings and filtered title lists over real HTTP (issue 19 targets).

    python -m bench.filtering                          # bench profile under /tmp/keyart-bench
    python -m bench.filtering --warehouse WH           # an existing warehouse
    python -m bench.filtering --profile demo --requests 100

Starts one `keyart serve` worker on the embedded backend with the result cache off
(every request reaches the backend) and waits until its serving copy is ready, then times,
one request at a time, `topAssets` over 7, 30 and 90 days with a country and an affinity
filter (the issue's target: p50 <= 100 ms for 7 days), the same over 7 days with all-of /
none-of affinities (read from the multi-value rollup), and `titles` filtered by kind,
genre and launch date, ordered by launch (target: p50 <= 5 ms, from the snapshot). Each
request draws one of a pool of distinct variable sets (countries × labels, genres).
Results: bench/results/filtering.json and filtering.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import markdown_table, percentiles, write_results
from bench.http import (
    Cell,
    _generate_load,
    ensure_snapshot,
    ensure_warehouse,
    rss_mb,
)
from tests.e2e.server_process import ServerProcess

SUITE = "filtering"

TOP_ASSETS = """query Top($w: DateRange!, $f: MetricFilter, $min: Int) {
  topAssets(window: $w, metric: TAKE_RATE, filter: $f, minImpressions: $min, first: 20) {
    value asset { id name title { id name } }
    metrics { impressions qualifiedPlays uniqueImpressions { value lower upper }
              takeRate { value lower upper } authenticity } } }"""
TITLES = """query Titles($k: [TitleKind!], $g: [String!], $after: Date) {
  titles(first: 50, kinds: $k, genres: $g, launchedAfter: $after, orderBy: LAUNCH_DATE_DESC) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id name kind launchDate } } } }"""

QUESTIONS: dict[str, tuple[str, str]] = {
    "top_assets_7d": ("topAssets, 7 days, one country + one affinity", TOP_ASSETS),
    "top_assets_30d": ("topAssets, 30 days, one country + one affinity", TOP_ASSETS),
    "top_assets_90d": ("topAssets, 90 days, one country + one affinity", TOP_ASSETS),
    "top_assets_7d_all_none": (
        "topAssets, 7 days, one country, all-of two labels, none-of one label",
        TOP_ASSETS,
    ),
    "titles_filtered": ("titles by kinds, genre and launch date, newest first", TITLES),
}
TARGETS_MS = {"top_assets_7d": 100.0, "titles_filtered": 5.0}  # p50, issue 19


def pick_parameters(warehouse: Path, snapshots: Path, pool: int) -> dict[str, Any]:
    """Distinct variable sets per question from the served snapshot: the busiest countries
    and affinity labels, the genres of the catalog."""
    from keyart.store.consumer import SnapshotConsumer
    from keyart.warehouse.layout import Warehouse

    snapshot = SnapshotConsumer(snapshots).load()
    days = Warehouse(warehouse).current().days
    last = days[-1]
    counts: dict[str, int] = {}
    for served in snapshot.title_countries.values():
        for c in served:
            counts[c] = counts.get(c, 0) + 1
    countries = sorted(counts, key=lambda c: (-counts[c], c))[:8]
    labels = list(snapshot.affinities)[:16]
    genres = sorted({g for t in snapshot.titles.values() for g in t.genres})
    launches = sorted(t.launch_date for t in snapshot.titles.values() if t.launch_date)

    def window(n: int) -> dict[str, str]:
        start = max(days[0], last - timedelta(days=n - 1))
        return {"start": start.isoformat(), "end": last.isoformat()}

    pairs = [(c, label) for label in labels for c in countries][:pool]

    def top(n: int) -> list[dict[str, Any]]:
        return [
            {"w": window(n), "f": {"countries": [c], "affinities": [label]}, "min": 10}
            for c, label in pairs
        ]

    all_none = [
        {
            "w": window(7),
            "f": {
                "countries": [c],
                "affinitiesAll": [labels[i % len(labels)], labels[(i + 1) % len(labels)]],
                "excludeAffinities": [labels[(i + 2) % len(labels)]],
            },
            "min": 10,
        }
        for i, c in enumerate(c for c, _ in pairs)
    ]
    titles = [
        {
            "k": ["SERIES", "FILM"] if i % 2 else ["FILM", "LIVE", "GAME"],
            "g": [genres[i % len(genres)]],
            "after": launches[(i * 7) % len(launches)].isoformat() if launches else None,
        }
        for i in range(pool)
    ]
    return {
        "top_assets_7d": top(7),
        "top_assets_30d": top(30),
        "top_assets_90d": top(90),
        "top_assets_7d_all_none": all_none,
        "titles_filtered": titles,
        "days": [days[0].isoformat(), last.isoformat()],
        "titles": len(snapshot.titles),
        "assets": len(snapshot.assets),
    }


def measure(url: str, question: str, variables: list[dict[str, Any]], requests: int) -> Cell:
    """One question, one request at a time, `requests` requests over the variable pool."""
    query = QUESTIONS[question][1]
    part = asyncio.run(_generate_load(url, query, variables, 1, requests, 600.0, 0, 1))
    ms = [x * 1000 for x in part.latencies]
    p = percentiles(ms)
    elapsed = part.ended - part.started
    return Cell(
        server="embedded-uncached",
        question=question,
        concurrency=1,
        requests=len(ms),
        errors=len(part.errors),
        p50_ms=round(p["p50"], 2),
        p95_ms=round(p["p95"], 2),
        p99_ms=round(p["p99"], 2),
        mean_ms=round(p["mean"], 2),
        throughput_rps=round(len(ms) / elapsed, 1),
        elapsed_s=round(elapsed, 2),
        error_samples=part.errors[:3],
    )


def render(payload: dict[str, Any]) -> str:
    """The markdown report."""
    data = payload["data"]
    rows = [
        {**c, "what": payload["questions"][c["question"]], "target": _target(c)}
        for c in payload["cells"]
    ]
    load = payload["load_average"]
    return "\n".join(
        [
            "# Filtering and rankings over HTTP (issue 19)",
            "",
            f"profile `{payload['profile']}`: {data['titles']} titles, {data['assets']} assets,"
            f" days {data['days'][0]} .. {data['days'][1]}. One uvicorn worker, embedded"
            " backend on its serving copy, result cache off, one request at a time; each"
            " request draws one of a pool of distinct variable sets. Load average (1/5/15"
            f" min) before {_load(load['before'])}, after {_load(load['after'])} on"
            f" {os.cpu_count()} cores — other jobs shared the machine.",
            "",
            markdown_table(
                rows,
                [
                    "question",
                    "what",
                    ("requests", "n"),
                    ("errors", "err"),
                    ("p50_ms", "p50 ms"),
                    ("p95_ms", "p95 ms"),
                    ("p99_ms", "p99 ms"),
                    "target",
                ],
            ),
        ]
    )


def _target(cell: dict[str, Any]) -> str:
    target = TARGETS_MS.get(cell["question"])
    if target is None:
        return ""
    return f"p50 <= {target:g} ms: {'met' if cell['p50_ms'] <= target else 'NOT met'}"


def _load(values: Sequence[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite and write bench/results/filtering.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.filtering", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--profile", choices=["tiny", "demo", "bench"], default="bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200, help="per question (default 200)")
    parser.add_argument("--pool", type=int, default=64, help="distinct variable sets (64)")
    parser.add_argument("--warehouse", type=Path, default=None, help="use this warehouse")
    parser.add_argument(
        "--ready-timeout", type=float, default=1800.0, help="seconds to wait for the serving copy"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)

    warehouse = args.warehouse or ensure_warehouse(
        args.data / args.profile, args.profile, args.seed, 1.0
    )
    snapshots = ensure_snapshot(warehouse, None)
    params = pick_parameters(warehouse, snapshots, args.pool)
    log = Path(tempfile.gettempdir()) / "keyart-bench-filtering.log"
    env = {
        "KEYART_CACHE_TTL_S": "0",
        "KEYART_SNAPSHOT_DIR": str(snapshots),
        "KEYART_READY_REQUIRES_SERVING_COPY": "1",
    }
    load_before = os.getloadavg()
    server = ServerProcess(["serve", "--warehouse", str(warehouse)], log, env)
    cells: list[Cell] = []
    try:
        t0 = time.perf_counter()
        server.wait_ready(timeout_s=args.ready_timeout)
        startup = round(time.perf_counter() - t0, 1)
        for question in QUESTIONS:
            variables = params[question]
            measure(server.url, question, variables[:5], 5)  # warm DuckDB and the OS cache
            cell = measure(server.url, question, variables, args.requests)
            print(
                f"  {question:<24} n={cell.requests:<4} p50={cell.p50_ms:8.2f} "
                f"p95={cell.p95_ms:8.2f} p99={cell.p99_ms:8.2f} ms errors={cell.errors}",
                flush=True,
            )
            cells.append(cell)
        rss = round(rss_mb(server.process.pid), 1)
    finally:
        server.stop()
    payload = {
        "profile": args.profile,
        "warehouse": str(warehouse),
        "measured_at": date.today().isoformat(),
        "data": {k: params[k] for k in ("days", "titles", "assets")},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "questions": {k: v[0] for k, v in QUESTIONS.items()},
        "server": {"startup_s": startup, "rss_mb_after": rss},
        "cells": [asdict(c) for c in cells],
    }
    write_results(SUITE, payload, render(payload))
    print(render(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
