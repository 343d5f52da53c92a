"""Spark vs embedded ingest benchmark: raw events/s of both engines on the same raw data,
per Spark step, with the Spark engine of an older commit as the baseline in the same run.

    python -m bench.spark [--profiles demo,bench] [--data /tmp/keyart-bench] [--seed 7]
                          [--master local[2]] [--driver-memory 6g] [--baseline REF]

Raw data is generated into `<data>/<profile>-x1-seed<seed>/raw` when missing (the layout
the other suites use, so all share it). Each engine ingests into a fresh warehouse, without
publishing a snapshot. Spark's JVM start is timed apart from the ingest (it is paid once per
process, not per run); both figures are reported. With `--baseline REF` the Spark engine of
git commit REF (exported with `git archive`) ingests the same data in a child process
(its own JVM, started before its clock starts) right before this tree's, so both are
measured under the same machine load. The warehouses' rollup row counts and all-time totals
are compared with the embedded engine's, so a fast but wrong run cannot pass unnoticed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
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

REPO = Path(__file__).resolve().parents[1]

# Runs in the baseline's exported tree (first on sys.path): starts Spark, then times one
# ingest; prints the JVM start and the report as JSON on its last line.
_CHILD = """
import json, sys, time
from pathlib import Path
from keyart.config import EtlSettings
from keyart.etl.spark import ingest_spark
from keyart.etl.spark.session import start_session

raw, warehouse, master = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
started = time.perf_counter()
session = start_session(master)
startup_s = time.perf_counter() - started
try:
    report = ingest_spark(raw, warehouse, EtlSettings(), master=master, publish_snapshot=False)
finally:
    session.stop()
print(json.dumps({"startup_s": startup_s, "report": report.to_dict()}, default=str))
"""


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


def export_tree(ref: str, into: Path) -> Path:
    """The files of git commit `ref` of this repository, extracted into `into`."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def baseline_ingest(
    tree: Path, raw: Path, warehouse: Path, master: str
) -> tuple[IngestReport, float]:
    """One Spark ingest by the code in `tree`, in a child process; its report and JVM start."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(raw), str(warehouse), master],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"baseline ingest failed: {done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return IngestReport.from_dict(result["report"]), float(result["startup_s"])


def step_rows(profile: str, runs: dict[str, IngestReport]) -> list[dict[str, Any]]:
    """Seconds and raw events/s of each Spark step, one row per step, a column pair per run."""
    steps: list[str] = []
    for report in runs.values():
        for step in report.extra.get("steps_s", {}):
            if step not in steps:
                steps.append(step)
    rows = []
    for step in [*steps, "total"]:
        row: dict[str, Any] = {"profile": profile, "step": step}
        for label, report in runs.items():
            seconds = (
                report.elapsed_s if step == "total" else report.extra.get("steps_s", {}).get(step)
            )
            row[f"{label}_s"] = None if seconds is None else round(float(seconds), 1)
            row[f"{label}_events_per_s"] = round(report.raw_events / seconds) if seconds else None
        rows.append(row)
    return rows


def run_profile(
    profile: str,
    raw: Path,
    work: Path,
    spark_startup_s: float,
    master: str,
    baseline: Path | None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Ingest one profile with both engines (and the baseline's Spark engine); returns table
    rows and the detail record."""
    from keyart.etl.embedded import ingest
    from keyart.etl.spark import ingest_spark

    settings = EtlSettings()
    embedded_wh, spark_wh = work / f"{profile}-embedded", work / f"{profile}-spark"
    baseline_wh = work / f"{profile}-baseline"
    for wh in (embedded_wh, spark_wh, baseline_wh):
        shutil.rmtree(wh, ignore_errors=True)
    print(f"[{profile}] embedded ingest (load {_load()})", flush=True)
    loads = [_load()]
    embedded = ingest(raw, embedded_wh, settings, publish_snapshot=False)
    loads.append(_load())
    rows = [_row(profile, "embedded", embedded, (loads[0], loads[1]))]
    runs: dict[str, IngestReport] = {}
    totals = {"embedded": _totals(embedded_wh)}
    if baseline is not None:
        print(f"[{profile}] embedded {embedded.elapsed_s:.1f}s; baseline spark", flush=True)
        old, old_startup = baseline_ingest(baseline, raw, baseline_wh, master)
        loads.append(_load())
        rows.append(_row(profile, "spark (baseline)", old, (loads[-2], loads[-1]), old_startup))
        runs["baseline"] = old
        totals["baseline"] = _totals(baseline_wh)
        print(f"[{profile}] baseline spark {old.elapsed_s:.1f}s", flush=True)
    print(f"[{profile}] spark ingest (load {_load()})", flush=True)
    spark = ingest_spark(raw, spark_wh, settings, master=master, publish_snapshot=False)
    loads.append(_load())
    print(f"[{profile}] spark {spark.elapsed_s:.1f}s (load {loads[-1]})", flush=True)
    rows.append(_row(profile, "spark", spark, (loads[-2], loads[-1]), spark_startup_s))
    runs["spark"] = spark
    totals["spark"] = _totals(spark_wh)
    detail = {
        "profile": profile,
        "embedded": embedded.to_dict(),
        "spark": spark.to_dict(),
        "baseline": runs["baseline"].to_dict() if "baseline" in runs else None,
        "spark_steps_s": spark.extra.get("steps_s", {}),
        "steps": step_rows(profile, runs),
        "same_output": all(t == totals["embedded"] for t in totals.values()),
        "totals": totals,
    }
    for wh in (embedded_wh, spark_wh, baseline_wh):
        shutil.rmtree(wh, ignore_errors=True)
    return rows, detail


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write bench/results/spark.json and spark.md."""
    parser = argparse.ArgumentParser(prog="python -m bench.spark", description=__doc__)
    parser.add_argument("--profiles", default="demo,bench", help="default: demo,bench")
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--master", default="local[2]", help="Spark master (default: local[2])")
    parser.add_argument("--driver-memory", default="6g", help="Spark driver memory (default: 6g)")
    parser.add_argument("--results", type=Path, default=None, help="results folder")
    parser.add_argument(
        "--baseline",
        default=None,
        metavar="REF",
        help="git commit whose Spark engine is measured too, in the same run (default: none)",
    )
    args = parser.parse_args(argv)
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    raws = {p: raw_dir(args.data, p, args.seed) for p in profiles}

    # read by keyart.etl.spark.session when the JVM starts (also by the baseline's child)
    os.environ.setdefault("KEYART_SPARK_DRIVER_MEMORY", args.driver_memory)
    from keyart.etl.spark.session import start_session

    rows: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="keyart-bench-spark-", dir=args.data) as tmp:
        baseline = None
        if args.baseline:
            baseline = export_tree(args.baseline, Path(tmp) / "baseline-tree")
        started = time.perf_counter()
        session = start_session(args.master)
        startup_s = time.perf_counter() - started
        try:
            for profile in profiles:
                r, d = run_profile(
                    profile, raws[profile], Path(tmp), startup_s, args.master, baseline
                )
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
    step_columns: list[str | tuple[str, str]] = ["profile", "step"]
    if any(d["baseline"] for d in details):
        step_columns += [
            ("baseline_s", "baseline s"),
            ("baseline_events_per_s", "baseline events/s"),
        ]
    step_columns += [("spark_s", "spark s"), ("spark_events_per_s", "spark events/s")]
    steps = [row for d in details for row in d["steps"]]
    same = ", ".join(f"{d['profile']}: {'yes' if d['same_output'] else 'NO'}" for d in details)
    baseline = (
        f" The baseline is the Spark engine of commit `{args.baseline}`." if args.baseline else ""
    )
    markdown = (
        "# Ingest: Spark vs embedded engine\n\n"
        f"Spark master `{args.master}`, driver memory {args.driver_memory}; one ingest per "
        f"engine into a fresh warehouse, no snapshot.{baseline}\n\n"
        + markdown_table(rows, columns)
        + "\nThe machine has 2 cores shared with other work: the 1-minute load average before"
        " and after each run says how busy it was.\n"
        + f"\nSame rollup rows and all-time totals in every warehouse: {same}.\n\n"
        + "## Spark steps (seconds and raw events/s of each step)\n\n"
        + markdown_table(steps, step_columns)
    )
    payload = {
        "master": args.master,
        "baseline": args.baseline,
        "spark_startup_s": startup_s,
        "rows": rows,
    }
    json_path, md_path = write_results(
        "spark", {**payload, "details": details}, markdown, args.results
    )
    print(markdown)
    print(f"wrote {json_path} and {md_path}", flush=True)


if __name__ == "__main__":
    main()
