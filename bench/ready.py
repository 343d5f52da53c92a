"""Ready-to-serve benchmark: how long after an ingest ends the API answers at DESIGN §7
latency, with the serving layout written by the ingest versus without it (today's
behaviour before the layout: the server builds its own serving copy), measured in one run.

For each profile and scale, two fresh warehouses get the same raw data:

- `layout`: `ingest(..., serving_layout=True)` (`keyart ingest --serving-layout`) writes
  the serving layout into the version; a server opened right after the ingest's end
  serves from it at once;
- `baseline`: `ingest(..., serving_layout=False)` (`--no-serving-layout`); the server
  builds its serving copy (in full on a first ingest) and reads day files until it is ready;
- `plain`: the same ingest without the layout, timed only (no server build: the ingest
  speed without the layout in the same run, where `baseline`'s build would take too long).

Recorded per variant: the ingest's wall time and raw events/s, the time from the ingest's
end until the backend serves from a fast file (layout or built copy), and the §7 questions'
latency (p50/p95/p99, in-process) once it does. `--daily` also re-ingests the last day
into both warehouses (a daily ingest: the layout is appended to the parent's copy; the
baseline server builds its copy incrementally from the previous version's).

    python -m bench.ready --profile bench --scale 1
    python -m bench.ready --profile bench --scale 4 --runs 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import markdown_table, percentiles, raw_dir, time_async, write_results
from bench.query import DEFAULT_DATA, pick, questions
from bench.serving import last_day_raw
from keyart.backends.embedded import EmbeddedBackend
from keyart.config import EtlSettings, GateSettings
from keyart.etl.embedded import ingest
from keyart.warehouse.layout import Warehouse

SUITE = "ready"
VARIANTS = ("layout", "baseline", "plain")
DEFAULT_VARIANTS = ("layout", "baseline")
BUILD_TIMEOUT_S = 3 * 3600


def _ingest(raw: Path, wh: Path, layout: bool, lg_k: int) -> dict[str, Any]:
    """One ingest run: wall seconds, raw events/s and the report's step timings."""
    started = time.perf_counter()
    cpu = time.process_time()
    report = ingest(
        raw,
        wh,
        EtlSettings(lg_k=lg_k),
        publish_snapshot=False,
        serving_layout=layout,
        gates=GateSettings(accept_anomalies=True),
    )
    wall = time.perf_counter() - started
    events = sum(report.rows_read.get(t, 0) for t in ("impressions", "playbacks"))
    return {
        "wall_s": wall,
        "cpu_s": time.process_time() - cpu,
        "raw_events": events,
        "events_per_s": events / wall,
        "stage_s": report.extra.get("stage_s", {}),
        "serving_layout": report.extra.get("serving_layout"),
        "load_after": os.getloadavg()[0],
    }


async def _until_ready(wh: Warehouse, cache: Path, runs: int, warmup: int) -> dict[str, Any]:
    """Open a backend as a server would right after the ingest; seconds until it serves
    from a fast file, and the §7 questions' latency from then on."""
    started = time.perf_counter()
    backend = EmbeddedBackend(wh, cache_dir=cache)
    try:
        state = backend.serving_state()
        served = await backend.wait_until_served(timeout=BUILD_TIMEOUT_S)
        ready_s = time.perf_counter() - started
        latency: dict[str, Any] = {}
        for q in questions(pick(wh.current())):
            samples = await time_async(partial(backend.execute, q.query), runs, warmup)
            latency[q.name] = percentiles(samples)
    finally:
        await backend.aclose()
    return {"state_at_open": state, "served": served, "ready_s": ready_s, "latency": latency}


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _sizes(wh: Warehouse) -> dict[str, Any]:
    """The version's size without and with its serving layout, and its snapshot's."""
    from keyart.store.producer import SnapshotProducer

    version = wh.current()
    layout = _bytes(version.root / "serving") if (version.root / "serving").exists() else 0
    started = time.perf_counter()
    name = SnapshotProducer(wh.snapshots_dir).publish(version)
    publish_s = time.perf_counter() - started
    blobs = [p for p in wh.snapshots_dir.glob(f"*{name}*") if not p.name.endswith(".sha256")]
    return {
        "warehouse_bytes": _bytes(version.root) - layout,
        "layout_bytes": layout,
        "snapshot_bytes": sum(p.stat().st_size for p in blobs),
        "snapshot_publish_s": publish_s,
    }


def run(
    data: Path,
    profile: str,
    scale: float,
    seed: int,
    runs: int,
    warmup: int,
    *,
    daily: bool,
    lg_k: int,
    variants: Sequence[str] = VARIANTS,
    sizes: bool = False,
) -> dict[str, Any]:
    """The variants over fresh warehouses of one profile at one scale."""
    raw = raw_dir(data, profile, seed, scale)
    work = data / f"ready-work-{profile}-x{scale:g}-lgk{lg_k}-{'+'.join(variants)}"
    out: dict[str, Any] = {"profile": profile, "scale": scale, "lg_k": lg_k, "variants": {}}
    for variant in variants:
        folder = work / variant
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        print(f"{profile} x{scale:g} {variant}: full ingest", flush=True)
        wh = Warehouse(folder / "warehouse")
        row: dict[str, Any] = {"ingest": _ingest(raw, wh.root, variant == "layout", lg_k)}
        print(f"  {row['ingest']['events_per_s']:,.0f} events/s", flush=True)
        if variant == "plain":
            out["variants"][variant] = row
            shutil.rmtree(folder, ignore_errors=True)
            continue
        row["ready"] = asyncio.run(_until_ready(wh, folder / "cache", runs, warmup))
        print(f"  ready {row['ready']['ready_s']:.1f} s after the ingest's end", flush=True)
        if daily:
            day = last_day_raw(raw, folder / "raw-last-day")
            print(f"  daily ingest of {day}", flush=True)
            row["daily_ingest"] = _ingest(
                folder / "raw-last-day", wh.root, variant == "layout", lg_k
            )
            row["daily_ready"] = asyncio.run(_until_ready(wh, folder / "cache", runs, warmup))
            print(
                f"  ready {row['daily_ready']['ready_s']:.1f} s after the daily ingest", flush=True
            )
        out["variants"][variant] = row
        if sizes:
            row["sizes"] = _sizes(wh)
        shutil.rmtree(folder, ignore_errors=True)  # disk: the next variant needs the room
    return out


def _markdown(report: dict[str, Any]) -> str:
    r = report["result"]
    lines = [
        f"# Ready-to-serve benchmark: {r['profile']} x{r['scale']:g} (lgK {r['lg_k']})",
        "",
        f"{report['environment_note']}. `layout`: the ingest writes the serving layout; "
        "`baseline`: it does not, and the server builds its serving copy. Ready = seconds "
        "from the ingest's end until a freshly opened backend serves from a fast file.",
        "",
    ]
    rows = []
    for variant, row in r["variants"].items():
        for kind in ("", "daily_"):
            if f"{kind}ingest" not in row:
                continue
            ing, ready = row[f"{kind}ingest"], row.get(f"{kind}ready")
            line = {
                "run": f"{variant} {'daily' if kind else 'full'}",
                "ingest_s": ing["wall_s"],
                "cpu_s": ing["cpu_s"],
                "eps": ing["events_per_s"],
                "load": ing["load_after"],
                "layout_s": ing["stage_s"].get("serving layout", 0.0),
            }
            if ready is not None:
                line["ready_s"] = ready["ready_s"]
                line["tp_p99"] = ready["latency"]["title_page"]["p99"]
                for q in ("title_page", "affinity_breakdown_90d", "timeseries_180d"):
                    line[f"{q}_p50"] = ready["latency"][q]["p50"]
            rows.append(line)
    lines.append(
        markdown_table(
            rows,
            [
                "run",
                ("ingest_s", "ingest (s)"),
                ("cpu_s", "ingest CPU (s)"),
                ("eps", "events/s"),
                ("load", "load after"),
                ("layout_s", "layout wait after all-time (s)"),
                ("ready_s", "ready after ingest (s)"),
                ("title_page_p50", "title page p50 (ms)"),
                ("tp_p99", "p99"),
                ("affinity_breakdown_90d_p50", "affinity 90d p50"),
                ("timeseries_180d_p50", "series 180d p50"),
            ],
        )
    )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ready-to-serve benchmark; writes bench/results/ready-<profile>-x<scale>.*"""
    parser = argparse.ArgumentParser(prog="python -m bench.ready", description=__doc__)
    parser.add_argument("--profile", default="bench", help="generator profile (default bench)")
    parser.add_argument("--scale", type=float, default=1.0, help="data scale (default 1)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data folder")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument("--runs", type=int, default=50, help="timed runs (>= 50)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up runs (default 5)")
    parser.add_argument("--lg-k", type=int, default=14, help="sketch precision (default 14)")
    parser.add_argument(
        "--daily", action="store_true", help="also re-ingest the last day (default off)"
    )
    parser.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help=f"comma-separated, among {', '.join(VARIANTS)} (default {','.join(DEFAULT_VARIANTS)})",
    )
    parser.add_argument(
        "--sizes",
        action="store_true",
        help="also record warehouse, layout and snapshot sizes (default off)",
    )
    args, _unknown = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if args.runs < 50:
        parser.error("--runs must be at least 50 (percentiles need many runs)")
    variants = [v for v in args.variants.split(",") if v]
    if not set(variants) <= set(VARIANTS):
        parser.error(f"--variants: choose among {', '.join(VARIANTS)}")
    result = run(
        args.data,
        args.profile,
        args.scale,
        args.seed,
        args.runs,
        args.warmup,
        daily=args.daily,
        lg_k=args.lg_k,
        variants=variants,
        sizes=args.sizes,
    )
    load = os.getloadavg()[0]
    report = {
        "runs": args.runs,
        "warmup": args.warmup,
        "environment_note": f"{os.cpu_count()} CPUs, 1-minute load average {load:.1f} at the end"
        " (machine shared with other work)",
        "result": result,
    }
    name = f"{SUITE}-{args.profile}-x{args.scale:g}"
    if args.lg_k != 14 or variants != list(DEFAULT_VARIANTS):
        name += f"-lgk{args.lg_k}-{'+'.join(variants)}"
    json_path, md_path = write_results(name, report, _markdown(report))
    print(f"wrote {json_path} and {md_path}", flush=True)


if __name__ == "__main__":
    main()
