"""Query benchmark (DESIGN §7): the product's questions on the embedded sketch backend and
on the exact legacy backend, side by side in one run, at one or more data scales.

    python -m bench.query                              # bench profile, scale 1
    python -m bench.query --profile demo --runs 100
    python -m bench.query --scales 1,2,4               # how each backend grows with data
    python -m bench.query --variants embedded,legacy,legacy-served,embedded-parquet

Data is generated and ingested into `--data` (default /tmp/keyart-bench) when missing and
reused afterwards. Results go to bench/results/query.json and query.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from bench.common import markdown_table, percentiles, raw_dir, time_async, write_results
from keyart.backends.base import Backend
from keyart.backends.embedded import EmbeddedBackend
from keyart.backends.legacy import LegacyBackend
from keyart.query import (
    Dimension,
    Filter,
    Granularity,
    Interval,
    MetricQuery,
    QueryResult,
)
from keyart.warehouse.layout import Version, Warehouse

SUITE = "query"
DEFAULT_DATA = Path("/tmp/keyart-bench")


@dataclass(frozen=True)
class Question:
    """One named product question and the IR query that asks it."""

    name: str
    description: str
    query: MetricQuery


# ---------------------------------------------------------------- data


def ensure_warehouse(data: Path, profile: str, scale: float, seed: int) -> Warehouse:
    """The warehouse of a profile at a scale, generated and ingested first if missing."""
    from keyart.config import EtlSettings

    wh = Warehouse(data / f"{profile}-x{scale:g}-seed{seed}" / "warehouse")
    if wh.current_or_none() is not None:
        return wh
    raw = raw_dir(data, profile, seed, scale)
    from keyart.etl.embedded import ingest

    print(f"ingesting {raw} into {wh.root}", flush=True)
    started = time.perf_counter()
    ingest(raw, wh.root, EtlSettings(), progress=True, publish_snapshot=False)
    print(f"ingested in {time.perf_counter() - started:.0f}s", flush=True)
    return wh


def pick(version: Version) -> dict[str, Any]:
    """Realistic parameters from the data: a busy title with its assets, the busiest asset,
    the biggest country, two common affinity labels, and the last day."""
    con = duckdb.connect()
    try:
        country_day = f"read_parquet('{version.rollup_glob('asset_country_day')}')"
        affinity_day = f"read_parquet('{version.rollup_glob('asset_affinity_day')}')"
        titles = con.execute(
            f"""
            SELECT title_id, count(DISTINCT asset_id) AS n, sum(impressions) AS imps
            FROM {country_day} GROUP BY title_id ORDER BY (n >= 10) DESC, imps DESC LIMIT 1
            """
        ).fetchone()
        assert titles is not None, "the warehouse holds no impressions"
        title = str(titles[0])
        assets = [
            str(r[0])
            for r in con.execute(
                f"""
                SELECT asset_id, title_id = ? AS own FROM {country_day}
                GROUP BY asset_id, title_id ORDER BY own DESC, sum(impressions) DESC LIMIT 10
                """,
                [title],
            ).fetchall()
        ]
        row = con.execute(
            f"SELECT country FROM {country_day} GROUP BY 1 ORDER BY sum(impressions) DESC LIMIT 1"
        ).fetchone()
        assert row is not None
        country = str(row[0])
        labels = [
            str(r[0])
            for r in con.execute(
                f"SELECT affinity FROM {affinity_day} WHERE affinity IS NOT NULL "
                "GROUP BY 1 ORDER BY sum(impressions) DESC LIMIT 2"
            ).fetchall()
        ]
        row = con.execute(f"SELECT max(day) FROM {country_day}").fetchone()
        assert row is not None
        last_day: date = row[0]
    finally:
        con.close()
    return {
        "title": title,
        "assets": assets,
        "asset": assets[0],
        "country": country,
        "labels": labels,
        "last_day": last_day,
    }


def questions(params: dict[str, Any]) -> list[Question]:
    """The DESIGN §7 questions as IR queries over windows ending on the data's last day."""
    end: date = params["last_day"]

    def last(days: int) -> Interval:
        return Interval(end - timedelta(days=days - 1), end)

    title, assets, asset = params["title"], tuple(params["assets"]), params["asset"]
    out = [
        Question(
            "title_page",
            f"{len(assets)} assets x 30-day metrics, country filter (one query, asset IN ...)",
            MetricQuery(
                last(30),
                filter=Filter(asset_ids=assets, countries=(params["country"],)),
                group_by=(Dimension.ASSET,),
            ),
        ),
        Question(
            "affinity_breakdown_90d",
            "one asset over 90 days grouped by affinity",
            MetricQuery(
                last(90), filter=Filter(asset_ids=(asset,)), group_by=(Dimension.AFFINITY,)
            ),
        ),
        Question(
            "timeseries_180d",
            "one asset, 180-day daily time series",
            MetricQuery(last(180), Granularity.DAY, Filter(asset_ids=(asset,))),
        ),
        Question(
            "title_metrics_30d",
            "title-level 30-day metrics (distinct across its assets)",
            MetricQuery(last(30), filter=Filter(title_ids=(title,)), group_by=(Dimension.TITLE,)),
        ),
    ]
    if len(params["labels"]) >= 2:
        out.append(
            Question(
                "title_page_two_affinities",
                f"{len(assets)} assets x 30 days, filtered to members with either of 2 labels",
                MetricQuery(
                    last(30),
                    filter=Filter(asset_ids=assets, affinities=tuple(params["labels"])),
                    group_by=(Dimension.ASSET,),
                ),
            )
        )
    return out


# ---------------------------------------------------------------- checks


def agreement(exact: QueryResult, sketched: QueryResult) -> dict[str, Any]:
    """Whether the sketch answer matches the exact one: same groups, equal counts, and how
    many exact distinct counts fall inside the sketch bounds."""
    want = {(r.bucket, r.dims): r.metrics for r in exact.rows}
    have = {(r.bucket, r.dims): r.metrics for r in sketched.rows}
    counts_equal = set(want) == set(have)
    inside = total = 0
    for key in set(want) & set(have):
        w, h = want[key], have[key]
        for name in ("impressions", "qualified_plays", "play_seconds", "engaged_plays"):
            counts_equal &= getattr(w, name) == getattr(h, name)
        for name in ("unique_impressions", "unique_players"):
            total += 1
            inside += getattr(h, name).lower <= getattr(w, name).value <= getattr(h, name).upper
    return {
        "groups": len(want),
        "counts_equal": counts_equal,
        "distinct_inside_bounds": inside,
        "distinct_checked": total,
    }


# ---------------------------------------------------------------- timing

# (label, backend class, reads the serving copy); the first legacy variant is the baseline
VARIANTS: dict[str, tuple[type[EmbeddedBackend] | type[LegacyBackend], bool]] = {
    "embedded": (EmbeddedBackend, True),
    "legacy": (LegacyBackend, False),
    "embedded-parquet": (EmbeddedBackend, False),
    "legacy-served": (LegacyBackend, True),
}
DEFAULT_VARIANTS = "embedded,legacy,legacy-served"


async def _measure(
    backend: Backend, question: Question, runs: int, warmup: int
) -> tuple[dict[str, Any], QueryResult]:
    result = await backend.execute(question.query)
    samples = await time_async(lambda: backend.execute(question.query), runs, warmup)
    return percentiles(samples), result


async def run_scale(
    wh: Warehouse, runs: int, warmup: int, threads: int | None, variants: Sequence[str]
) -> dict[str, Any]:
    """Time every question on every backend variant over one warehouse, side by side.

    Variants reading a serving copy get it built first (not timed; the build time is
    reported). Speedups divide the baseline's p50 (legacy: exact counting over the event
    files) by the embedded backend's.
    """
    version = wh.current()
    params = pick(version)
    backends: dict[str, EmbeddedBackend | LegacyBackend] = {}
    build: dict[str, float] = {}
    rows: list[dict[str, Any]] = []
    try:
        for label in variants:
            cls, served = VARIANTS[label]
            backend = cls(wh, threads=threads, serving=served)
            backends[label] = backend
            if served:
                started = time.perf_counter()
                if not await backend.wait_until_served():
                    raise RuntimeError(f"the {label} serving copy was not built")
                build[label] = time.perf_counter() - started
        print(f"  serving copies ready (s): {build}", flush=True)
        for q in questions(params):
            row: dict[str, Any] = {
                "question": q.name,
                "description": q.description,
                "query": q.query.cache_key(),
                "ms": {},
            }
            results: dict[str, QueryResult] = {}
            for label, backend in backends.items():
                row["ms"][label], results[label] = await _measure(backend, q, runs, warmup)
            if "embedded" in results:
                emb = row["ms"]["embedded"]["p50"]
                row["speedup_p50"] = {
                    label: row["ms"][label]["p50"] / emb
                    for label in backends
                    if label.startswith("legacy")
                }
                exact = next((label for label in results if label.startswith("legacy")), None)
                if exact is not None:
                    row["agreement"] = agreement(results[exact], results["embedded"])
            rows.append(row)
            print(_line(row), flush=True)
    finally:
        for backend in backends.values():
            await backend.aclose()
    return {
        "variants": list(variants),
        "serving_build_s": build,
        "warehouse": str(wh.root),
        "version": version.name,
        "days": len(version.days),
        "rows": _table_rows(version),
        "params": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in params.items()},
        "questions": rows,
    }


def _table_rows(version: Version) -> dict[str, int]:
    con = duckdb.connect()
    try:
        out = {}
        for rel, glob in (
            ("asset_country_day", version.rollup_glob("asset_country_day")),
            ("asset_affinity_day", version.rollup_glob("asset_affinity_day")),
            ("asset_audience_day", version.rollup_glob("asset_audience_day")),
            ("events/impressions", version.events_glob("impressions")),
            ("events/plays", version.events_glob("plays")),
        ):
            row = con.execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone()
            out[rel] = int(row[0]) if row else 0
        return out
    finally:
        con.close()


def _line(row: dict[str, Any]) -> str:
    parts = [f"  {row['question']:<27}"]
    for label, ms in row["ms"].items():
        parts.append(f"{label} p50 {ms['p50']:7.1f} p99 {ms['p99']:7.1f}")
    for label, ratio in row.get("speedup_p50", {}).items():
        parts.append(f"{label}/embedded x{ratio:.1f}")
    return " | ".join(parts)


# ---------------------------------------------------------------- report


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Query benchmark",
        "",
        f"{report['runs']} timed runs per question and backend after {report['warmup']} "
        "warm-up runs, in-process (no HTTP); latencies in ms. Variants: `embedded` = the "
        "sketch backend over its serving copy (rollups sorted by title, asset, day); "
        "`legacy` = exact COUNT / COUNT DISTINCT over the clean event files (the old "
        "stack, the baseline); `legacy-served` = the same exact SQL over a serving copy of "
        "the events sorted like the rollups; `embedded-parquet` = the sketch backend "
        "straight over the rollup day files. `x` = variant p50 / embedded p50.",
        "",
        f"Machine: {report['environment_note']}",
        "",
    ]
    for run in report["results"]:
        lines += [
            f"## {run['profile']} x{run['scale']:g} ({run['days']} days, "
            f"{run['rows']['events/impressions']:,} impressions, "
            f"{run['rows']['events/plays']:,} qualified plays, "
            f"{run['rows']['asset_country_day']:,} asset_country_day rows)",
            "",
        ]
        table: list[dict[str, Any]] = []
        columns: list[str | tuple[str, str]] = ["question"]
        for label in run["variants"]:
            columns += [
                (f"{label}:p50", f"{label} p50"),
                (f"{label}:p95", "p95"),
                (f"{label}:p99", "p99"),
            ]
        for label in run["variants"]:
            if label.startswith("legacy"):
                columns.append((f"x:{label}", f"x {label}"))
        columns.append(("agree", "counts equal (distincts in bounds)"))
        for q in run["questions"]:
            row: dict[str, Any] = {"question": q["question"]}
            for label, ms in q["ms"].items():
                row |= {
                    f"{label}:p50": ms["p50"],
                    f"{label}:p95": ms["p95"],
                    f"{label}:p99": ms["p99"],
                }
            for label, ratio in q.get("speedup_p50", {}).items():
                row[f"x:{label}"] = ratio
            if "agreement" in q:
                agree = q["agreement"]
                row["agree"] = (
                    f"{agree['counts_equal']} "
                    f"({agree['distinct_inside_bounds']}/{agree['distinct_checked']})"
                )
            table.append(row)
        lines.append(markdown_table(table, columns))
        if run["serving_build_s"]:
            built = ", ".join(f"{k} {v:.0f}s" for k, v in run["serving_build_s"].items())
            lines += [
                f"Serving copies ready after: {built} (built in the background before timing;"
                " near 0 when reused from an earlier run).",
                "",
            ]
    growth = report.get("growth")
    if growth:
        lines += ["## Growth with data (p50 at each scale / p50 at the smallest)", ""]
        growth_columns: list[str | tuple[str, str]] = ["question", "scale"]
        growth_columns += [(v, f"{v} ×") for v in report["variants"]]
        lines.append(markdown_table(growth, growth_columns))
    return "\n".join(lines)


def _growth(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per profile, question and variant: each scale's p50 over the smallest scale's."""
    out: list[dict[str, Any]] = []
    by_profile: dict[str, list[dict[str, Any]]] = {}
    for run in results:
        by_profile.setdefault(run["profile"], []).append(run)
    for runs in by_profile.values():
        if len(runs) < 2:
            continue
        runs = sorted(runs, key=lambda r: r["scale"])
        base = {q["question"]: q for q in runs[0]["questions"]}
        for run in runs[1:]:
            for q in run["questions"]:
                b = base.get(q["question"])
                if b is None:
                    continue
                row: dict[str, Any] = {
                    "question": f"{run['profile']}/{q['question']}",
                    "scale": f"x{run['scale']:g} vs x{runs[0]['scale']:g}",
                }
                for label, ms in q["ms"].items():
                    if label in b["ms"]:
                        row[label] = ms["p50"] / b["ms"][label]["p50"]
                out.append(row)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Run the query benchmark; writes bench/results/query.json and query.md."""
    parser = argparse.ArgumentParser(prog="python -m bench.query", description=__doc__)
    parser.add_argument("--profile", default="bench", help="profiles, comma-separated")
    parser.add_argument("--scales", default="1", help="event-volume scales, e.g. 1,2,4")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data folder")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=100, help="timed runs (>= 50)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    parser.add_argument(
        "--variants",
        default=DEFAULT_VARIANTS,
        help=f"comma-separated, from {', '.join(VARIANTS)}",
    )
    args, _unknown = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if args.runs < 50:
        parser.error("--runs must be at least 50 (percentiles need many runs)")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        parser.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    profiles = [p.strip() for p in args.profile.split(",") if p.strip()]
    scales = [float(s) for s in args.scales.split(",") if s.strip()]
    results: list[dict[str, Any]] = []
    for profile in profiles:
        for scale in scales:
            wh = ensure_warehouse(args.data, profile, scale, args.seed)
            print(f"== {profile} x{scale:g}: {wh.root}", flush=True)
            run = asyncio.run(run_scale(wh, args.runs, args.warmup, args.threads, variants))
            results.append({"profile": profile, "scale": scale, **run})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    report = {
        "runs": args.runs,
        "warmup": args.warmup,
        "threads": args.threads,
        "variants": variants,
        "environment_note": f"{os.cpu_count()} CPUs, 1-minute load average {load:.1f} at the end",
        "results": results,
        "growth": _growth(results),
    }
    json_path, md_path = write_results(SUITE, report, _markdown(report))
    print(f"wrote {json_path} and {md_path}", flush=True)


if __name__ == "__main__":
    main()
