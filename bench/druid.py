"""Druid vs embedded: the DESIGN §7 questions as IR queries, side by side in one run.

    python -m bench.druid                         # bench profile (shared with bench.query)
    python -m bench.druid --profile demo --runs 50
    python -m bench.druid --warehouse WH --skip-druid-ingest

Loads the warehouse into the local Druid cluster (`make druid-up`), then times every
question on both backends (interleaved, after a warm-up) and writes p50/p95/p99 to
bench/results/druid.json and .md. Latency is the backend's own (IR in, rows out), not HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb

from bench.common import markdown_table, percentiles, write_results
from bench.query import DEFAULT_DATA, ensure_warehouse
from keyart.backends.druid import DruidBackend
from keyart.backends.druid.ingest import ingest_warehouse
from keyart.backends.embedded import EmbeddedBackend
from keyart.query import Dimension, Filter, Granularity, Interval, MetricQuery, QueryResult
from keyart.warehouse.layout import Version, Warehouse

SUITE = "druid"
SERVING_TIMEOUT_S = 3600.0  # a full serving-copy build of bench takes minutes


@dataclass(frozen=True)
class Question:
    """One named benchmark question and the IR query that asks it."""

    name: str
    description: str
    query: MetricQuery


def _pick(version: Version) -> dict[str, Any]:
    """Realistic parameters from the data: a busy title, its assets, a country, labels."""
    con = duckdb.connect()
    try:
        rollup = version.rollup_glob("asset_country_day")
        title, _n_assets = con.execute(
            f"SELECT title_id, count(DISTINCT asset_id) n FROM read_parquet('{rollup}') "
            "GROUP BY 1 ORDER BY n DESC, sum(impressions) DESC LIMIT 1"
        ).fetchone() or ("", 0)
        assets = [
            r[0]
            for r in con.execute(
                f"SELECT asset_id FROM read_parquet('{rollup}') WHERE title_id = ? "
                "GROUP BY 1 ORDER BY sum(impressions) DESC LIMIT 10",
                [title],
            ).fetchall()
        ]
        (country,) = con.execute(
            f"SELECT country FROM read_parquet('{rollup}') GROUP BY 1 "
            "ORDER BY sum(impressions) DESC LIMIT 1"
        ).fetchone() or ("",)
        audience = version.rollup_glob("asset_audience_day")
        labels = [
            r[0]
            for r in con.execute(
                f"SELECT a, sum(impressions) FROM (SELECT unnest(affinities) a, impressions "
                f"FROM read_parquet('{audience}')) GROUP BY 1 ORDER BY 2 DESC LIMIT 3"
            ).fetchall()
        ]
    finally:
        con.close()
    return {"title": title, "assets": assets, "country": country, "labels": labels}


def questions(version: Version) -> list[Question]:
    """The DESIGN §7 questions (and two more shapes) over the last days of the data."""
    days = version.days
    last = days[-1]
    p = _pick(version)

    def window(n: int) -> Interval:
        return Interval(max(days[0], last - timedelta(days=n - 1)), last)

    one_asset = Filter(asset_ids=p["assets"][:1])
    return [
        Question(
            "title_page",
            "10 assets x 30-day metrics, country filter (one batched query)",
            MetricQuery(
                window(30),
                filter=Filter(asset_ids=tuple(p["assets"]), countries=(p["country"],)),
                group_by=(Dimension.ASSET,),
            ),
        ),
        Question(
            "affinity_breakdown_90d",
            "one asset by affinity over 90 days",
            MetricQuery(window(90), filter=one_asset, group_by=(Dimension.AFFINITY,)),
        ),
        Question(
            "timeseries_180d_daily",
            "one asset, 180-day daily time series",
            MetricQuery(window(180), Granularity.DAY, filter=one_asset),
        ),
        Question(
            "title_weekly_by_listed_affinities",
            "a title, 90 days weekly, 3 listed affinities as groups (listFiltered)",
            MetricQuery(
                window(90),
                Granularity.WEEK,
                filter=Filter(title_ids=(p["title"],), affinities=tuple(p["labels"])),
                group_by=(Dimension.AFFINITY,),
            ),
        ),
        Question(
            "title_by_country_30d",
            "a title's distinct audience by country over 30 days",
            MetricQuery(
                window(30), filter=Filter(title_ids=(p["title"],)), group_by=(Dimension.COUNTRY,)
            ),
        ),
    ]


def _agree(a: QueryResult, b: QueryResult) -> bool:
    """Same groups and equal exact counts (estimates are compared in the tests)."""

    def counts(r: QueryResult) -> dict[Any, tuple[int, ...]]:
        return {
            (row.bucket, row.dims): (
                row.metrics.impressions,
                row.metrics.qualified_plays,
                row.metrics.play_seconds,
                row.metrics.engaged_plays,
            )
            for row in r.rows
        }

    return counts(a) == counts(b)


async def _time(fn: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await fn()
    return (time.perf_counter() - started) * 1000.0


async def run_suite(
    version: Version, warehouse: Path, broker: str, prefix: str, runs: int, warmup: int
) -> dict[str, Any]:
    """Time every question on the embedded backend (on its serving copy, built first when
    missing) and on Druid (both datasource plans)."""
    embedded = EmbeddedBackend(warehouse)
    if not await embedded.wait_until_served(timeout=SERVING_TIMEOUT_S):
        raise RuntimeError(f"the serving copy of {warehouse} was not built")
    backends: dict[str, Any] = {
        "embedded": embedded,
        "druid": DruidBackend(broker, lg_k=version.lg_k, datasource_prefix=prefix),
        "druid_audience_only": DruidBackend(
            broker, lg_k=version.lg_k, datasource_prefix=prefix, use_country_datasource=False
        ),
    }
    out: dict[str, Any] = {}
    try:
        for q in questions(version):
            answers = {name: await b.execute(q.query) for name, b in backends.items()}
            samples: dict[str, list[float]] = {name: [] for name in backends}
            for i in range(warmup + runs):
                for name, backend in backends.items():  # interleaved: same conditions
                    ms = await _time(functools.partial(backend.execute, q.query))
                    if i >= warmup:
                        samples[name].append(ms)
            out[q.name] = {
                "description": q.description,
                "query": json.loads(q.query.cache_key()),
                "groups": len(answers["embedded"].rows),
                "druid_agrees": _agree(answers["embedded"], answers["druid"])
                and _agree(answers["embedded"], answers["druid_audience_only"]),
                "ms": {name: percentiles(s) for name, s in samples.items()},
            }
            line = ", ".join(
                f"{name} p50 {v['p50']:.1f} ms" for name, v in out[q.name]["ms"].items()
            )
            print(f"  {q.name}: {line}", flush=True)
    finally:
        for backend in backends.values():
            await backend.aclose()
    return out


def _markdown(report: dict[str, Any]) -> str:
    rows = [
        {
            "question": name,
            "backend": backend,
            "p50": ms["p50"],
            "p95": ms["p95"],
            "p99": ms["p99"],
            "groups": q["groups"],
            "agree": q["druid_agrees"],
        }
        for name, q in report["questions"].items()
        for backend, ms in q["ms"].items()
    ]
    text = (
        "# Druid vs embedded backend\n\n"
        f"profile `{report['profile']}`, version `{report['version']}`, {report['runs']} runs "
        f"per backend and question (after {report['warmup']} warm-up, interleaved); latency "
        "of `Backend.execute` in ms; `embedded` reads its sorted serving copy. `druid` "
        "answers affinity-free questions from the `asset_country_day` datasource, "
        "`druid_audience_only` from the multi-value one.\n\n"
    )
    text += markdown_table(
        rows,
        ["question", "backend", ("p50", "p50 ms"), ("p95", "p95 ms"), ("p99", "p99 ms"),
         "groups", ("agree", "counts agree")],
    )  # fmt: skip
    if report.get("ingest"):
        text += "\nDruid load (`keyart druid ingest`, both datasources side by side):\n\n"
        text += markdown_table(
            report["ingest"],
            ["datasource", "rows", ("task_s", "task s"), ("total_s", "queryable after s")],
        )
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Druid suite; writes bench/results/druid.json and druid.md."""
    parser = argparse.ArgumentParser(prog="python -m bench.druid", description=__doc__)
    parser.add_argument("--profile", choices=["tiny", "demo", "bench"], default="bench")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="where generated data lives")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warehouse", default=None, help="use this warehouse as it is")
    parser.add_argument("--druid", default="http://127.0.0.1:8081", help="overlord URL")
    parser.add_argument("--broker", default="http://127.0.0.1:8082")
    parser.add_argument("--prefix", default="keyart_bench_", help="Druid datasource prefix")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--skip-druid-ingest", action="store_true")
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds for the load")
    args, _unknown = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if args.runs < 50:
        print(f"note: {args.runs} runs (< 50) give rough p99s", file=sys.stderr)

    if args.warehouse is not None:
        warehouse = Path(args.warehouse)
    else:
        warehouse = ensure_warehouse(Path(args.data), args.profile, 1.0, args.seed).root
    version = Warehouse(warehouse).current()
    loads: list[dict[str, Any]] = []
    if not args.skip_druid_ingest:
        reports = asyncio.run(
            ingest_warehouse(
                warehouse,
                args.druid,
                args.broker,
                timeout_s=args.timeout,
                datasource_prefix=args.prefix,
            )
        )
        loads = [asdict(r) for r in reports]
    print(f"timing {args.runs} runs per question on {version.name}", flush=True)
    results = asyncio.run(
        run_suite(version, warehouse, args.broker, args.prefix, args.runs, args.warmup)
    )
    report = {
        "suite": SUITE,
        "profile": args.profile if args.warehouse is None else str(warehouse),
        "version": version.name,
        "runs": args.runs,
        "warmup": args.warmup,
        "ingest": loads,
        "questions": results,
    }
    write_results(SUITE, report, _markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
