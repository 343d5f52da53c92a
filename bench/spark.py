"""Spark vs embedded ingest benchmark: raw events/s of both engines on the same raw data.

    python -m bench.spark [--profiles demo,bench] [--data /tmp/keyart-bench] [--seed 7]
                          [--master local[2]] [--driver-memory 6g]

Raw data is generated into `<data>/<profile>-x1-seed<seed>/raw` when missing (the layout
the other suites use, so all share it). Each engine ingests into a fresh warehouse, without
publishing a snapshot. Spark's JVM start is timed apart from the ingest (it is paid once per
process, not per run); both figures are reported. The two warehouses' rollup row counts and
all-time totals are compared, so a fast but wrong run cannot pass unnoticed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.common import markdown_table, raw_dir, write_results
from keyart.config import EtlSettings
from keyart.etl.report import IngestReport
from keyart.warehouse import Warehouse


def _totals(root: Path) -> dict[str, Any]:
    version = Warehouse(root).current()
    assets = pq.read_table(version.alltime_path("assets"))
    return {
        "rollups": dict(version.manifest["rollups"]),
        "impressions": int(pc.sum(assets.column("impressions")).as_py() or 0),
        "qualified_plays": int(pc.sum(assets.column("qualified_plays")).as_py() or 0),
    }


def _load() -> float | None:
    """The 1-minute load average (the machine is shared: a busy one slows both engines)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _row(
    profile: str,
    engine: str,
    report: IngestReport,
    load: tuple[float | None, float | None],
    extra_s: float = 0.0,
) -> dict[str, Any]:
    total = report.elapsed_s + extra_s
    return {
        "profile": profile,
        "engine": engine,
        "raw_events": report.raw_events,
        "elapsed_s": round(report.elapsed_s, 2),
        "events_per_s": round(report.events_per_s),
        "startup_s": round(extra_s, 2),
        "with_startup_s": round(total, 2),
        "events_per_s_with_startup": round(report.raw_events / total) if total > 0 else 0,
        "rollup_rows": sum(report.rollup_rows.values()),
        "load_1min_before": load[0],
        "load_1min_after": load[1],
    }


def run_profile(
    profile: str, raw: Path, work: Path, spark_startup_s: float, master: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Ingest one profile with both engines; returns table rows and the detail record."""
    from keyart.etl.embedded import ingest
    from keyart.etl.spark import ingest_spark

    settings = EtlSettings()
    embedded_wh, spark_wh = work / f"{profile}-embedded", work / f"{profile}-spark"
    for wh in (embedded_wh, spark_wh):
        shutil.rmtree(wh, ignore_errors=True)
    print(f"[{profile}] embedded ingest (load {_load()})", flush=True)
    loads = [_load()]
    embedded = ingest(raw, embedded_wh, settings, publish_snapshot=False)
    loads.append(_load())
    print(f"[{profile}] embedded {embedded.elapsed_s:.1f}s; spark ingest", flush=True)
    spark = ingest_spark(raw, spark_wh, settings, master=master, publish_snapshot=False)
    loads.append(_load())
    print(f"[{profile}] spark {spark.elapsed_s:.1f}s (load {loads[-1]})", flush=True)
    left, right = _totals(embedded_wh), _totals(spark_wh)
    detail = {
        "profile": profile,
        "embedded": embedded.to_dict(),
        "spark": spark.to_dict(),
        "spark_steps_s": spark.extra.get("steps_s", {}),
        "same_output": left == right,
        "totals": {"embedded": left, "spark": right},
    }
    rows = [
        _row(profile, "embedded", embedded, (loads[0], loads[1])),
        _row(profile, "spark", spark, (loads[1], loads[2]), spark_startup_s),
    ]
    for wh in (embedded_wh, spark_wh):
        shutil.rmtree(wh, ignore_errors=True)
    return rows, detail


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write bench/results/spark.json and spark.md."""
    parser = argparse.ArgumentParser(prog="python -m bench.spark", description=__doc__)
    parser.add_argument("--profiles", default="demo,bench")
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="6g", help="Spark driver (local) memory")
    parser.add_argument("--results", type=Path, default=None, help="results folder")
    args = parser.parse_args(argv)
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    raws = {p: raw_dir(args.data, p, args.seed) for p in profiles}

    # read by keyart.etl.spark.session when the JVM starts
    os.environ.setdefault("KEYART_SPARK_DRIVER_MEMORY", args.driver_memory)
    from keyart.etl.spark.session import start_session

    started = time.perf_counter()
    session = start_session(args.master)
    startup_s = time.perf_counter() - started
    rows: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="keyart-bench-spark-", dir=args.data) as tmp:
            for profile in profiles:
                r, d = run_profile(profile, raws[profile], Path(tmp), startup_s, args.master)
                rows.extend(r)
                details.append(d)
                # written after every profile, so a long run keeps what it measured
                _write(args, startup_s, rows, details)
    finally:
        session.stop()


def _write(
    args: argparse.Namespace,
    startup_s: float,
    rows: list[dict[str, Any]],
    details: list[dict[str, Any]],
) -> None:
    columns: list[str | tuple[str, str]] = [
        "profile",
        "engine",
        ("raw_events", "raw events"),
        ("elapsed_s", "ingest s"),
        ("events_per_s", "events/s"),
        ("startup_s", "JVM start s"),
        ("events_per_s_with_startup", "events/s incl. start"),
        ("rollup_rows", "rollup rows"),
        ("load_1min_before", "load 1m before"),
        ("load_1min_after", "load 1m after"),
    ]
    same = ", ".join(f"{d['profile']}: {'yes' if d['same_output'] else 'NO'}" for d in details)
    steps = "; ".join(
        f"{d['profile']}: " + ", ".join(f"{k} {v:.1f}" for k, v in d["spark_steps_s"].items())
        for d in details
    )
    markdown = (
        "# Ingest: Spark vs embedded engine\n\n"
        f"Spark master `{args.master}`, driver memory {args.driver_memory}; one ingest per "
        "engine into a fresh warehouse, no snapshot.\n\n"
        + markdown_table(rows, columns)
        + "\nThe machine has 2 cores shared with other work: the 1-minute load average before"
        " and after each run says how busy it was.\n"
        + f"\nSame rollup rows and all-time totals in both warehouses: {same}.\n\n"
        + f"Spark step times (s): {steps}\n"
    )
    payload = {"master": args.master, "spark_startup_s": startup_s, "rows": rows}
    json_path, md_path = write_results(
        "spark", {**payload, "details": details}, markdown, args.results
    )
    print(markdown)
    print(f"wrote {json_path} and {md_path}", flush=True)


if __name__ == "__main__":
    main()
