"""Snapshot store: publish and load time, blob and in-memory size, and the latency of
"all-time metrics + availability for 50 assets" (DESIGN §7: p50 ≤ 5 ms).

    python -m bench.store                          # bench profile shape, synthetic warehouse
    python -m bench.store --profile demo --runs 10
    python -m bench.store --warehouse WH           # the current version of a real warehouse

Without --warehouse the suite writes a warehouse version of the profile's shape (titles,
assets, 40 countries, 40 affinities) whose all-time sketches hold as many members as the
profile's events would give, so publishing and loading do the same work as on real data
without waiting for a full ingest. Results: bench/results/store.json and store.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from keyart import sketches
from keyart.etl.generator.profiles import get_profile
from keyart.store import blob, files, queries
from keyart.store.consumer import SnapshotConsumer
from keyart.store.model import Snapshot
from keyart.store.producer import SnapshotProducer
from keyart.warehouse import tables
from keyart.warehouse.layout import Version, Warehouse

RESULTS = Path(__file__).parent / "results"
SUITE = "store"
N_COUNTRIES = 40
N_AFFINITIES = 40
LOOKUP_ASSETS = 50
POOL = 48  # distinct sketches per kind; assets share them (sketch content does not matter)


def _percentiles(samples: Sequence[float]) -> dict[str, float]:
    try:
        from bench.common import percentiles

        return dict(percentiles(samples))
    except ImportError:
        qs = statistics.quantiles(samples, n=100, method="inclusive")
        return {"p50": qs[49], "p95": qs[94], "p99": qs[98]}


def _summary(samples: Sequence[float], scale: float, unit: str) -> dict[str, Any]:
    scaled = [s * scale for s in samples]
    return {
        "unit": unit,
        "runs": len(scaled),
        "min": min(scaled),
        "mean": statistics.fmean(scaled),
        **_percentiles(scaled),
    }


def synthetic_warehouse(root: Path, profile_name: str, lg_k: int, seed: int) -> Version:
    """A warehouse version with dims and all-time tables of the profile's shape."""
    profile = get_profile(profile_name)
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    n_titles = profile.titles
    n_assets = round(profile.titles * profile.assets_per_title)
    per_asset = max(1, profile.impressions // n_assets)
    distinct_asset = min(profile.members, per_asset)
    distinct_title = min(profile.members, round(distinct_asset * profile.assets_per_title))

    def pool(size: int) -> list[bytes]:
        out = []
        for _ in range(POOL):
            n = max(1, int(size * rng.uniform(0.6, 1.4)))
            out.append(sketches.build(rng.integers(1, profile.members * 10, n).tolist(), lg_k))
        return out

    imp_pool, play_pool = pool(distinct_asset), pool(max(1, distinct_asset // 10))
    title_imp_pool, title_play_pool = pool(distinct_title), pool(max(1, distinct_title // 10))
    countries = [f"{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(N_COUNTRIES)]
    labels = [f"Affinity {i:02d} fans" for i in range(N_AFFINITIES)]
    words = ["Night", "Crown", "River", "Echo", "Iron", "Garden", "Last", "Signal", "Blue"]

    titles, assets, alltime_assets, alltime_titles = [], [], [], []
    first, last = profile.start, profile.start + timedelta(days=profile.days - 1)
    per_title = np.diff(np.linspace(0, n_assets, n_titles + 1).round().astype(int))
    for t in range(n_titles):
        tid = f"t{t:05d}"
        titles.append(
            {
                "title_id": tid,
                "name": f"{pick.choice(words)} {pick.choice(words)} {t}",
                "kind": ("series", "film", "live", "game")[t % 4],
                "genres": pick.sample(["drama", "comedy", "anime", "crime", "sci-fi"], 2),
                "launch_date": date(2020, 1, 1) + timedelta(days=t),
            }
        )
        title_countries: set[str] = set()
        for a in range(int(per_title[t])):
            aid = f"{tid}-a{a:02d}"
            kind = "video" if a % 3 == 2 else "artwork"
            assets.append(
                {
                    "asset_id": aid,
                    "title_id": tid,
                    "asset_type": kind,
                    "name": f"{titles[-1]['name']} {kind} {a}",
                    "tags": pick.sample(["face", "bold", "dark", "group", "text"], 2),
                    "media_url": f"https://media.example/{aid}.jpg",
                }
            )
            mine = pick.sample(countries, pick.randint(N_COUNTRIES // 2, N_COUNTRIES))
            title_countries.update(mine)
            alltime_assets.append(
                {
                    "asset_id": aid,
                    "title_id": tid,
                    **_measures(pick, per_asset, imp_pool, play_pool),
                    "countries": mine,
                    "affinities": pick.sample(labels, pick.randint(30, N_AFFINITIES)),
                    "first_day": first,
                    "last_day": last,
                }
            )
        alltime_titles.append(
            {
                "title_id": tid,
                **_measures(pick, per_asset * int(per_title[t]), title_imp_pool, title_play_pool),
                "countries": sorted(title_countries),
                "affinities": pick.sample(labels, pick.randint(35, N_AFFINITIES)),
                "first_day": first,
                "last_day": last,
            }
        )

    warehouse = Warehouse(root)
    with warehouse.stage() as staging:
        view = staging.version_view()
        (view.root / "dims").mkdir()
        (view.root / "alltime").mkdir()
        for rows, schema, path in (
            (titles, tables.TITLES, view.dim_path("titles")),
            (assets, tables.ASSETS, view.dim_path("assets")),
            (alltime_assets, tables.ALLTIME_ASSETS, view.alltime_path("assets")),
            (alltime_titles, tables.ALLTIME_TITLES, view.alltime_path("titles")),
        ):
            pq.write_table(pa.Table.from_pylist(rows, schema), path)
        days = [(first + timedelta(days=d)).isoformat() for d in range(profile.days)]
        return staging.commit({"etl": {"lg_k": lg_k}, "days": days, "synthetic": profile.name})


def _measures(
    pick: random.Random, impressions: int, imp_pool: list[bytes], play_pool: list[bytes]
) -> dict[str, Any]:
    plays = impressions // 10
    return {
        "impressions": impressions + pick.randint(0, impressions // 5),
        "qualified_plays": plays,
        "play_seconds": plays * pick.randint(600, 2400),
        "engaged_plays": plays // 3,
        "imp_sketch": pick.choice(imp_pool),
        "play_sketch": pick.choice(play_pool),
    }


class _Timer:
    """Collects wall and process CPU seconds of each `with` block."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *_: object) -> None:
        self.wall.append(time.perf_counter() - self._wall)
        self.cpu.append(time.process_time() - self._cpu)


def _deep_size(snapshot: Snapshot) -> int:
    """Bytes retained by a freshly decoded copy of the snapshot (tracemalloc)."""
    data = blob.encode(snapshot)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        copy = blob.decode(data)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del copy
    return after - before


def _lookup(snapshot: Snapshot, asset_ids: Sequence[str]) -> list[dict[str, Any]]:
    """What a resolver does for `assets(ids) { allTime { … } availability { … } }`."""
    out = []
    for aid in asset_ids:
        info = queries.asset(snapshot, aid)
        if info is None:
            continue
        m = queries.asset_alltime(snapshot, aid)
        countries = queries.asset_availability(snapshot, aid)
        out.append(
            {
                "id": info.id,
                "impressions": m.impressions,
                "uniqueImpressions": m.unique_impressions,
                "qualifiedPlays": m.qualified_plays,
                "uniquePlayers": m.unique_players,
                "takeRate": m.take_rate,
                "playSeconds": m.play_seconds,
                "engagedPlays": m.engaged_plays,
                "authenticity": m.authenticity,
                "countries": countries,
                "countryCount": len(countries),
            }
        )
    return out


def run(version: Version, blob_dir: Path, runs: int, lookups: int, seed: int) -> dict[str, Any]:
    """Measure one warehouse version; returns the results document."""
    load_start = os.getloadavg()[0]
    producer = SnapshotProducer(blob_dir, keep=2)
    publish = _Timer()
    for _ in range(runs):
        with publish:
            producer.publish(version)
    announcement = files.read_announcement(blob_dir)
    data = (blob_dir / announcement.file).read_bytes()

    load, decode = _Timer(), _Timer()
    consumer = SnapshotConsumer(blob_dir)
    for _ in range(runs):
        consumer = SnapshotConsumer(blob_dir)
        with load:
            consumer.load()
        with decode:
            blob.decode(data)
    snapshot = consumer.current()

    rng = random.Random(seed)
    ids = list(snapshot.assets)
    batches = [rng.sample(ids, min(LOOKUP_ASSETS, len(ids))) for _ in range(lookups)]
    for batch in batches[: max(1, lookups // 10)]:  # warm-up
        _lookup(consumer.current(), batch)
    lookup_s = []
    for batch in batches:
        started = time.perf_counter()
        rows = _lookup(consumer.current(), batch)  # a request grabs the snapshot once
        lookup_s.append(time.perf_counter() - started)
        assert len(rows) == len(batch)

    return {
        "suite": SUITE,
        "created_at": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "warehouse_version": version.name,
        "snapshot_version": announcement.version,
        "titles": len(snapshot.titles),
        "assets": len(snapshot.assets),
        "countries": len({c for cs in snapshot.asset_countries.values() for c in cs}),
        "affinities": len(snapshot.affinities),
        "lg_k": version.lg_k,
        "blob_bytes": announcement.size,
        "in_memory_bytes": _deep_size(snapshot),
        "publish": _summary(publish.wall, 1000, "ms"),
        "load": _summary(load.wall, 1000, "ms"),
        "decode": _summary(decode.wall, 1000, "ms"),
        # CPU seconds of this process: less sensitive than wall time to other load
        "publish_cpu": _summary(publish.cpu, 1000, "ms"),
        "load_cpu": _summary(load.cpu, 1000, "ms"),
        "decode_cpu": _summary(decode.cpu, 1000, "ms"),
        "load_average_1m": {"start": load_start, "end": os.getloadavg()[0]},
        "lookup_50_assets": _summary(lookup_s, 1000, "ms"),
        "target": {"lookup_50_assets_p50_ms": 5.0},
    }


def _markdown(doc: dict[str, Any]) -> str:
    def row(name: str, s: dict[str, Any]) -> str:
        return (
            f"| {name} | {s['runs']} | {s['p50']:.2f} | {s['p95']:.2f} | {s['p99']:.2f} "
            f"| {s['min']:.2f} |"
        )

    lookup = doc["lookup_50_assets"]
    ok = "meets" if lookup["p50"] <= doc["target"]["lookup_50_assets_p50_ms"] else "MISSES"
    return "\n".join(
        [
            "# Snapshot store benchmark",
            "",
            f"{doc['source']} — {doc['titles']:,} titles, {doc['assets']:,} assets, "
            f"{doc['countries']} countries, {doc['affinities']} affinities, lgK {doc['lg_k']}; "
            f"snapshot {doc['snapshot_version']} of warehouse {doc['warehouse_version']}; "
            f"Python {doc['machine']['python']} on {doc['machine']['platform']}; "
            f"{doc['created_at']}.",
            "",
            f"- blob: {doc['blob_bytes'] / 1e6:.2f} MB (gzip JSON)",
            f"- in memory: {doc['in_memory_bytes'] / 1e6:.1f} MB (tracemalloc, one loaded "
            "snapshot)",
            f"- all-time metrics + availability for 50 assets: p50 {lookup['p50']:.3f} ms — "
            f"{ok} the 5 ms target",
            "",
            "| step | runs | p50 ms | p95 ms | p99 ms | min ms |",
            "|---|---|---|---|---|---|",
            row("publish (read warehouse, estimate sketches, write, announce)", doc["publish"]),
            row("load (read, verify size + SHA-256, decode, swap)", doc["load"]),
            row("decode only", doc["decode"]),
            row("lookup: all-time metrics + availability, 50 assets", lookup),
            "",
            "Process CPU time (less sensitive than wall time to other load on the machine; "
            f"1-minute load average {doc['load_average_1m']['start']:.1f} at start, "
            f"{doc['load_average_1m']['end']:.1f} at end):",
            "",
            "| step | runs | p50 ms | p95 ms | p99 ms | min ms |",
            "|---|---|---|---|---|---|",
            row("publish", doc["publish_cpu"]),
            row("load", doc["load_cpu"]),
            row("decode only", doc["decode_cpu"]),
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the store benchmark and write bench/results/store.json and .md."""
    parser = argparse.ArgumentParser(prog="python -m bench.store", description=__doc__)
    parser.add_argument("--profile", choices=["tiny", "demo", "bench"], default="bench")
    parser.add_argument("--warehouse", type=Path, default=None, help="use this warehouse")
    parser.add_argument("--runs", type=int, default=7, help="publish and load repetitions")
    parser.add_argument("--lookups", type=int, default=5000, help="50-asset lookups to time")
    parser.add_argument("--lg-k", type=int, default=14)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--results", type=Path, default=RESULTS)
    # unknown flags belong to other suites when run through `python -m bench`
    args, _ = parser.parse_known_args(argv)

    with tempfile.TemporaryDirectory(prefix="keyart-bench-store-") as tmp:
        if args.warehouse is not None:
            version = Warehouse(args.warehouse).current()
            source = f"warehouse {args.warehouse}"
        else:
            started = time.perf_counter()
            version = synthetic_warehouse(Path(tmp) / "wh", args.profile, args.lg_k, args.seed)
            source = (
                f"synthetic {args.profile}-profile warehouse "
                f"(built in {time.perf_counter() - started:.1f} s)"
            )
        doc = run(version, Path(tmp) / "snapshots", args.runs, args.lookups, args.seed)
    doc["source"] = source
    doc["profile"] = None if args.warehouse is not None else args.profile
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{SUITE}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    (args.results / f"{SUITE}.md").write_text(_markdown(doc))
    print(_markdown(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
