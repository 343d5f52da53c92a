"""Serving-copy benchmark: how long a version waits for its fast path after a daily ingest.

A daily ingest rewrites one day and hard-links the rest, so the new version's serving copy
can start from the previous one's (an incremental build) instead of copying and sorting
every row again (a full build). On a scratch copy of the bench warehouse this suite times
a full build, re-ingests the last day (same events, so the same answers), times the
incremental build of the new version, and times the DESIGN §7 questions on both files
side by side, checking that they answer alike (equal counts; distinct estimates a hair
apart at most, since an HLL union's estimate depends slightly on the order of merging).

    python -m bench.serving                     # bench profile
    python -m bench.serving --profile demo --runs 50
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from bench.common import markdown_table, percentiles, time_async, write_results
from bench.query import DEFAULT_DATA, ensure_warehouse, pick, questions
from keyart.backends.duckdb.serving_copy import ServingBuild, ServingCache, build_serving_file
from keyart.backends.embedded import EmbeddedBackend
from keyart.config import EtlSettings
from keyart.query import QueryResult
from keyart.warehouse.layout import Version, Warehouse

SUITE = "serving"
COUNTS = ("impressions", "qualified_plays", "play_seconds", "engaged_plays")


def scratch_copy(source: Warehouse, target: Path) -> Warehouse:
    """The warehouse's versions and CURRENT under `target`, hard-linked (no serving files)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copytree(source.versions_dir, target / "versions", copy_function=os.link)
    shutil.copy2(source.root / "CURRENT", target / "CURRENT")
    return Warehouse(target)


def last_day_raw(raw: Path, out: Path) -> str:
    """A raw directory holding the dimension tables and the events of the last day of
    `raw`; returns that day."""
    shutil.rmtree(out, ignore_errors=True)
    for name in ("impressions", "playbacks"):
        (out / name).mkdir(parents=True)
    for name in ("titles", "assets", "members"):
        shutil.copy2(raw / f"{name}.parquet", out / f"{name}.parquet")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            f"SELECT max(CAST(event_time AS DATE)) FROM read_parquet('{raw}/impressions/*.parquet')"
        ).fetchall()
        day = rows[0][0].isoformat()
        for name in ("impressions", "playbacks"):
            con.execute(
                f"COPY (SELECT * FROM read_parquet('{raw}/{name}/*.parquet') "
                f"WHERE CAST(event_time AS DATE) = DATE '{day}') "
                f"TO '{out}/{name}/part-00000.parquet' (FORMAT parquet)"
            )
    finally:
        con.close()
    return str(day)


def _build(version: Version, folder: Path, base: Path | None) -> tuple[ServingBuild, float]:
    path = ServingCache(folder, EmbeddedBackend.tables, label=EmbeddedBackend.name).path_for(
        version
    )
    assert path is not None
    started = time.perf_counter()
    built = build_serving_file(
        version, EmbeddedBackend.tables, path, merged=EmbeddedBackend.merged, base=base
    )
    assert built is not None, f"version {version.name} holds no rollup file"
    return built, time.perf_counter() - started


async def _time_questions(
    wh: Warehouse, folders: dict[str, Path], runs: int, warmup: int
) -> list[dict[str, Any]]:
    """The §7 questions on the current version, once per serving folder, side by side."""
    qs = questions(pick(wh.current()))
    backends = {label: EmbeddedBackend(wh, cache_dir=folder) for label, folder in folders.items()}
    rows: list[dict[str, Any]] = []
    try:
        for backend in backends.values():
            assert await backend.wait_until_served(timeout=5), "serving file missing"
        for q in qs:
            row: dict[str, Any] = {"question": q.name}
            answers = []
            for label, backend in backends.items():
                answers.append(await backend.execute(q.query))
                samples = await time_async(
                    functools.partial(backend.execute, q.query), runs, warmup
                )
                row[label] = percentiles(samples)
            row.update(_compare(answers[0], answers[1]))
            rows.append(row)
    finally:
        for backend in backends.values():
            await backend.aclose()
    return rows


def _compare(a: QueryResult, b: QueryResult) -> dict[str, Any]:
    """Whether two answers have the same groups and counts, and how far apart their
    distinct-count estimates are (HLL unions depend slightly on merge order)."""
    left = {(r.bucket, r.dims): r.metrics for r in a.rows}
    right = {(r.bucket, r.dims): r.metrics for r in b.rows}
    same = set(left) == set(right)
    spread = 0.0
    for key in set(left) & set(right):
        x, y = left[key], right[key]
        same &= all(getattr(x, c) == getattr(y, c) for c in COUNTS)
        for name in ("unique_impressions", "unique_players"):
            ex, ey = getattr(x, name).value, getattr(y, name).value
            spread = max(spread, abs(ex - ey) / max(ex, ey, 1.0))
    return {"same_counts": same, "distinct_spread": spread}


def run(data: Path, profile: str, seed: int, runs: int, warmup: int) -> dict[str, Any]:
    """Full build, one-day re-ingest, incremental build, and query latency on both files."""
    from keyart.etl.embedded import ingest

    source = ensure_warehouse(data, profile, 1.0, seed)
    work = data / f"serving-work-{profile}"
    wh = scratch_copy(source, work / "warehouse")
    v1 = wh.current()
    print(f"full build of {v1.name}", flush=True)
    full, full_s = _build(v1, work / "cache-full", None)
    day = last_day_raw(source.root.parent / "raw", work / "raw-last-day")
    started = time.perf_counter()
    ingest(work / "raw-last-day", wh.root, EtlSettings(), publish_snapshot=False)
    ingest_s = time.perf_counter() - started
    v2 = wh.current()
    incremental_folder = work / "cache-incremental"
    incremental_folder.mkdir(parents=True, exist_ok=True)
    print(f"incremental build of {v2.name} from {v1.name}'s file", flush=True)
    step, step_s = _build(v2, incremental_folder, full.path)
    # the full file of v1 serves v2's data too (the re-ingested day holds the same events)
    shutil.copy2(full.path, work / "cache-full" / full.path.name.replace(v1.name, v2.name))
    latency = asyncio.run(
        _time_questions(
            wh, {"full": work / "cache-full", "incremental": incremental_folder}, runs, warmup
        )
    )
    return {
        "profile": profile,
        "re_ingested_day": day,
        "full_build_s": full_s,
        "one_day_ingest_s": ingest_s,
        "incremental_build_s": step_s,
        "incremental": {"base": step.base, "reused": step.reused, "rebuilt": step.rebuilt},
        "full_file_bytes": full.path.stat().st_size,
        "incremental_file_bytes": step.path.stat().st_size,
        "latency": latency,
    }


def _markdown(report: dict[str, Any]) -> str:
    r = report["result"]
    inc = r["incremental"]
    lines = [
        "# Serving-copy benchmark",
        "",
        f"Profile `{r['profile']}`; {report['environment_note']}. A scratch copy of the "
        f"warehouse; the last day ({r['re_ingested_day']}) re-ingested as a new version.",
        "",
        f"- full build: **{r['full_build_s']:.1f} s** ({r['full_file_bytes'] / 2**30:.2f} GiB)",
        f"- one-day ingest: {r['one_day_ingest_s']:.1f} s",
        f"- incremental build of the new version: **{r['incremental_build_s']:.1f} s** "
        f"({inc['reused']} day partitions carried over, {inc['rebuilt']} rebuilt; "
        f"{r['incremental_file_bytes'] / 2**30:.2f} GiB)",
        "",
        f"Query latency, in-process, {report['runs']} runs after {report['warmup']} warm-up (ms):",
        "",
    ]
    rows = [
        {
            "question": row["question"],
            "full_p50": row["full"]["p50"],
            "full_p95": row["full"]["p95"],
            "inc_p50": row["incremental"]["p50"],
            "inc_p95": row["incremental"]["p95"],
            "same": row["same_counts"],
            "spread": 100 * row["distinct_spread"],
        }
        for row in r["latency"]
    ]
    columns: list[str | tuple[str, str]] = [
        "question",
        ("full_p50", "full file p50"),
        ("full_p95", "p95"),
        ("inc_p50", "incremental file p50"),
        ("inc_p95", "p95"),
        ("same", "same counts"),
        ("spread", "distinct estimates apart (%)"),
    ]
    lines.append(markdown_table(rows, columns))
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the serving-copy benchmark; writes bench/results/serving.json and .md."""
    parser = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__)
    parser.add_argument("--profile", default="bench")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data folder")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=50, help="timed runs (>= 50)")
    parser.add_argument("--warmup", type=int, default=5)
    args, _unknown = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if args.runs < 50:
        parser.error("--runs must be at least 50 (percentiles need many runs)")
    result = run(args.data, args.profile, args.seed, args.runs, args.warmup)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    report = {
        "runs": args.runs,
        "warmup": args.warmup,
        "environment_note": f"{os.cpu_count()} CPUs, 1-minute load average {load:.1f} at the end",
        "result": result,
    }
    json_path, md_path = write_results(SUITE, report, _markdown(report))
    print(f"wrote {json_path} and {md_path}", flush=True)


if __name__ == "__main__":
    main()
