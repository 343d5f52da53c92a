"""The insight fields over real HTTP against `keyart serve` subprocesses.

    python -m bench.insights                          # bench profile under /tmp/keyart-bench
    python -m bench.insights --profile demo --requests 200

Questions: a title's outliers over 90 days, the appeal of a 10-asset title page over 30
days, a 4-asset comparison over 30 days, a 180-day daily anomaly scan of one asset, an
asset's 30-day period-over-period change, and the all-time outliers and appeal of a title
page from the snapshot; and, as baselines in the same run, the plain metric questions the
insights read (a title's 90-day metrics, a page's 30-day metrics, a 180-day series, a
page's all-time metrics). Each
server configuration (embedded without the result cache, then
with it) runs alone; every request of a cell draws one of a pool of distinct variable sets
(different titles and assets), so uncached cells reach the backend; the load generator is
bench/http.py's. Targets (issue 14): p50 ≤ 50 ms uncached, ≤ 5 ms from the snapshot.
Results: bench/results/insights.json and insights.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import http
from bench.common import markdown_table, percentiles, write_results

SUITE = "insights"

QUESTIONS: dict[str, tuple[str, str]] = {
    "outliers_90d": (
        "a title's take-rate outliers over 90 days",
        """query Outliers($id: ID!, $w: DateRange!) { title(id: $id) {
  outliers(window: $w) { asset { id } metric direction value peerMedian score pValue reason }
} }""",
    ),
    "appeal_page": (
        "appeal of a 10-asset title page over 30 days",
        """query Appeal($ids: [ID!]!, $w: DateRange!) { assets(ids: $ids) {
  id appeal(window: $w) { verdict effectiveness authenticity reason } } }""",
    ),
    "compare_4": (
        "4 assets side by side over 30 days",
        """query Compare($ids: [ID!]!, $w: DateRange!) { compare(assets: $ids, window: $w) {
  baseline { id } entries { asset { id } metrics { takeRate { value } }
  takeRateLift { value lower upper } probabilityBetter significant } } }""",
    ),
    "anomalies_180d": (
        "180-day daily anomaly scan of one asset",
        """query Anomalies($id: ID!, $w: DateRange!) { asset(id: $id) {
  anomalies(window: $w) { date direction value expected score } } }""",
    ),
    "change_30d": (
        "an asset's 30 days against the 30 before",
        """query Change($id: ID!, $w: DateRange!) { asset(id: $id) { change(window: $w) {
  previousWindow { start end } changes { metric current previous
  difference { value lower upper } significant } } } }""",
    ),
    "alltime_page": (
        "all-time outliers + appeal of a title page (snapshot)",
        """query AllTime($id: ID!) { title(id: $id) {
  allTimeOutliers { asset { id } direction score reason }
  assets { id allTimeAppeal { verdict effectiveness authenticity reason } } } }""",
    ),
}

# the plain metric question each insight reads, timed in the same run: the baseline
BASELINES: dict[str, tuple[str, str, str]] = {
    "outliers_90d": (
        "title_metrics_90d",
        "a title's metrics over 90 days",
        """query TitleMetrics($id: ID!, $w: DateRange!) { title(id: $id) {
  assets { id } metrics(window: $w) { impressions takeRate { value } authenticity } } }""",
    ),
    "appeal_page": (
        "page_metrics_30d",
        "metrics of a 10-asset title page over 30 days",
        """query Page($ids: [ID!]!, $w: DateRange!) { assets(ids: $ids) {
  id metrics(window: $w) { impressions takeRate { value } authenticity } } }""",
    ),
    "anomalies_180d": (
        "series_180d",
        "180-day daily time series of one asset",
        """query Series($id: ID!, $w: DateRange!) { asset(id: $id) {
  timeseries(window: $w) { date metrics { takeRate { value } authenticity } } } }""",
    ),
    "alltime_page": (
        "alltime_metrics_page",
        "all-time metrics of a title page (snapshot)",
        """query AllTimeMetrics($id: ID!) { title(id: $id) {
  allTime { impressions takeRate { value } }
  assets { id allTime { impressions takeRate { value } authenticity } } } }""",
    ),
}
QUESTIONS.update({name: (text, query) for name, text, query in BASELINES.values()})

TARGETS_MS = {
    "outliers_90d": 50.0,
    "appeal_page": 50.0,
    "compare_4": 50.0,
    "anomalies_180d": 50.0,
    "change_30d": 50.0,
    "alltime_page": 5.0,
}

CONFIGS = (
    http.ServerConfig("embedded-uncached", "embedded", False),
    http.ServerConfig("embedded-cached", "embedded", True),
)


def pick_parameters(warehouse: Path, snapshots: Path, pool: int) -> dict[str, Any]:
    """Distinct variable sets from the served snapshot: the busiest titles and assets."""
    from keyart.store.consumer import SnapshotConsumer
    from keyart.warehouse.layout import Warehouse

    snapshot = SnapshotConsumer(snapshots).load()
    days = Warehouse(warehouse).current().days
    last = days[-1]

    def impressions(values: Any) -> int:
        return 0 if values is None else int(values.impressions)

    titles = sorted(
        snapshot.titles.values(), key=lambda t: -impressions(snapshot.title_alltime.get(t.id))
    )
    pages = [t for t in titles if len(t.asset_ids) >= 10] or titles
    fours = [t for t in titles if len(t.asset_ids) >= 4] or titles
    assets = sorted(snapshot.asset_alltime, key=lambda a: -snapshot.asset_alltime[a].impressions)

    def window(n: int) -> dict[str, str]:
        start = max(days[0], last - timedelta(days=n - 1))
        return {"start": start.isoformat(), "end": last.isoformat()}

    return {
        "outliers_90d": [{"id": t.id, "w": window(90)} for t in titles[:pool]],
        "appeal_page": [{"ids": list(t.asset_ids[:10]), "w": window(30)} for t in pages[:pool]],
        "compare_4": [{"ids": list(t.asset_ids[:4]), "w": window(30)} for t in fours[:pool]],
        "anomalies_180d": [{"id": a, "w": window(180)} for a in assets[:pool]],
        "change_30d": [{"id": a, "w": window(30)} for a in assets[:pool]],
        "alltime_page": [{"id": t.id} for t in pages[:pool]],
        "title_metrics_90d": [{"id": t.id, "w": window(90)} for t in titles[:pool]],
        "page_metrics_30d": [
            {"ids": list(t.asset_ids[:10]), "w": window(30)} for t in pages[:pool]
        ],
        "series_180d": [{"id": a, "w": window(180)} for a in assets[:pool]],
        "alltime_metrics_page": [{"id": t.id} for t in pages[:pool]],
        "days": [days[0].isoformat(), last.isoformat()],
        "titles": len(snapshot.titles),
        "assets": len(snapshot.assets),
    }


async def _warm(url: str, query: str, variables: list[dict[str, Any]]) -> list[str]:
    """One pass over the variable pool; returns the errors it met (a broken question)."""
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        for v in variables:
            payload = (await client.post("/graphql", json={"query": query, "variables": v})).json()
            if payload.get("errors"):
                errors.append(str(payload["errors"])[:300])
    return errors


def bench_server(
    warehouse: Path,
    snapshots: Path,
    config: http.ServerConfig,
    params: dict[str, Any],
    requests: int,
    budget_s: float,
) -> list[dict[str, Any]]:
    """Start one server, time every question at concurrency 1, stop it."""
    logs = Path("/tmp/keyart-bench-insights-logs")
    logs.mkdir(parents=True, exist_ok=True)
    server = http.start_server(warehouse, snapshots, config, logs / f"{config.name}.log")
    rows: list[dict[str, Any]] = []
    try:
        server.wait_ready(timeout_s=1800)
        # one pass over every question's whole pool first: fills the result cache (cached),
        # and brings the data every question reads into DuckDB's and the OS's caches, so
        # that no question profits from an earlier one having read the same titles
        for question, (_, query) in QUESTIONS.items():
            errors = asyncio.run(_warm(server.url, query, params[question]))
            if errors:
                raise RuntimeError(f"{question}: {errors[0]}")
        for question, (_, query) in QUESTIONS.items():
            pool = params[question]
            part = asyncio.run(
                http._generate_load(server.url, query, pool, 1, requests, budget_s, 0, 1)
            )
            ms = [x * 1000 for x in part.latencies]
            p = percentiles(ms)
            row = {
                "server": config.name,
                "question": question,
                "requests": len(ms),
                "errors": len(part.errors),
                "p50_ms": round(p["p50"], 2),
                "p95_ms": round(p["p95"], 2),
                "p99_ms": round(p["p99"], 2),
                "mean_ms": round(statistics.fmean(ms), 2),
                "target_ms": TARGETS_MS.get(question),
                "met": None if question not in TARGETS_MS else p["p50"] <= TARGETS_MS[question],
            }
            print(
                f"  {config.name:<18} {question:<15} n={row['requests']:<5} "
                f"p50={row['p50_ms']:8.2f} p95={row['p95_ms']:8.2f} p99={row['p99_ms']:8.2f} ms "
                f"errors={row['errors']}",
                flush=True,
            )
            rows.append(row)
    finally:
        server.stop()
    return rows


def render(payload: dict[str, Any]) -> str:
    """The markdown report."""
    data = payload["data"]
    rows = [
        {**r, "target": "baseline" if r["target_ms"] is None else f"p50 <= {r['target_ms']} ms"}
        for r in payload["cells"]
    ]
    p50 = {(r["server"], r["question"]): r["p50_ms"] for r in payload["cells"]}
    overhead = [
        {
            "server": server,
            "question": insight,
            "baseline": base,
            "insight_p50": p50[server, insight],
            "baseline_p50": p50[server, base],
            "difference": round(p50[server, insight] - p50[server, base], 2),
        }
        for server, insight in p50
        for base in [BASELINES.get(insight, ("",))[0]]
        if (server, base) in p50
    ]
    load = payload["load_average"]
    return (
        "\n".join(
            [
                "# Insights benchmark (issue 14 fields over real HTTP, concurrency 1)",
                "",
                f"profile `{payload['profile']}`: {data['titles']} titles, {data['assets']} "
                f"assets, days {data['days'][0]} .. {data['days'][1]}. One uvicorn worker; "
                "each request draws one of a pool of distinct variable sets. Machine load "
                f"average before {'/'.join(f'{v:.1f}' for v in load['before'])}, after "
                f"{'/'.join(f'{v:.1f}' for v in load['after'])} on {os.cpu_count()} cores.",
                "",
                *(f"- `{k}`: {v}" for k, v in payload["questions"].items()),
                "",
                markdown_table(
                    rows,
                    [
                        "server",
                        "question",
                        ("requests", "n"),
                        ("errors", "err"),
                        ("p50_ms", "p50"),
                        ("p95_ms", "p95"),
                        ("p99_ms", "p99"),
                        "target",
                        "met",
                    ],
                ),
                "## Each insight against the plain question it reads (p50 ms, same run)",
                "",
                markdown_table(
                    overhead,
                    [
                        "server",
                        "question",
                        "baseline",
                        ("insight_p50", "insight"),
                        ("baseline_p50", "baseline"),
                        "difference",
                    ],
                ),
            ]
        )
        + "\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the insights benchmark and write bench/results/insights.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.insights", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--profile", choices=["tiny", "demo", "bench"], default="bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200, help="per cell (default 200)")
    parser.add_argument("--budget", type=float, default=30.0, help="max seconds per cell")
    parser.add_argument("--pool", type=int, default=64, help="distinct variable sets")
    parser.add_argument("--warehouse", type=Path, default=None, help="use this warehouse")
    args = parser.parse_args(list(argv) if argv is not None else None)

    warehouse = args.warehouse or http.ensure_warehouse(
        args.data / args.profile, args.profile, args.seed, 1.0
    )
    snapshots = http.ensure_snapshot(warehouse, None)
    params = pick_parameters(warehouse, snapshots, args.pool)
    load_before = os.getloadavg()
    cells: list[dict[str, Any]] = []
    for config in CONFIGS:
        print(f"== {config.name}", flush=True)
        cells += bench_server(warehouse, snapshots, config, params, args.requests, args.budget)
    payload = {
        "profile": args.profile,
        "warehouse": str(warehouse),
        "measured_at": date.today().isoformat(),
        "data": {k: params[k] for k in ("days", "titles", "assets")},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "questions": {k: v[0] for k, v in QUESTIONS.items()},
        "cells": cells,
    }
    write_results(SUITE, payload, render(payload))
    print(render(payload))
    return 0


__all__ = ["QUESTIONS", "TARGETS_MS", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
