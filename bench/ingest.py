"""Ingest benchmark: raw events/s of the embedded engine and rollup yield per rollup.

    python -m bench.ingest [--profiles demo,bench] [--data /tmp/keyart-bench] [--seed 7]

Raw data is generated into `<data>/<profile>-x1-seed<seed>/raw` when missing (the layout the
query suite uses, so both share it); each run ingests into a fresh warehouse. Besides
throughput it records, per rollup, rows written and raw events per rollup row (yield), and
the cost of an affinity breakdown of one busy title read from the exploded table
(asset_affinity_day) versus the multi-value one (asset_audience_day).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb

from bench.common import markdown_table, write_results
from keyart.config import EtlSettings
from keyart.warehouse import Warehouse
from keyart.warehouse.tables import ASSET_AFFINITY_DAY, ASSET_AUDIENCE_DAY, ROLLUPS


def _raw_dir(data: Path, profile: str, seed: int) -> Path:
    raw = data / f"{profile}-x1-seed{seed}" / "raw"
    if not (raw / "_planted.json").exists():
        from keyart.etl.generate import generate

        print(f"generating {profile} into {raw}", flush=True)
        generate(profile, raw, seed=seed, progress=True)
    return raw


def _median_ms(con: duckdb.DuckDBPyConnection, sql: str, runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        con.execute(sql).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _affinity_query_cost(wh: Warehouse) -> dict[str, Any]:
    """Rows touched and time of 'one title, every day, by affinity' from both layouts."""
    version = wh.current()
    con = duckdb.connect()
    exploded = version.rollup_glob(ASSET_AFFINITY_DAY)
    multi = version.rollup_glob(ASSET_AUDIENCE_DAY)
    (title,) = con.execute(
        f"SELECT title_id FROM read_parquet('{exploded}') GROUP BY 1"
        " ORDER BY sum(impressions) DESC LIMIT 1"
    ).fetchone() or ("",)
    q_exploded = (
        f"SELECT affinity, sum(impressions), sum(qualified_plays), list(imp_sketch)"
        f" FROM read_parquet('{exploded}') WHERE title_id = '{title}' GROUP BY 1"
    )
    q_multi = (
        f"SELECT affinity, sum(impressions), sum(qualified_plays), list(imp_sketch) FROM"
        f" (SELECT unnest(CASE WHEN len(affinities) = 0 THEN [NULL] ELSE affinities END)"
        f" AS affinity, impressions, qualified_plays, imp_sketch"
        f" FROM read_parquet('{multi}') WHERE title_id = '{title}') GROUP BY 1"
    )

    def rows(glob: str) -> int:
        sql = f"SELECT count(*) FROM read_parquet('{glob}') WHERE title_id = '{title}'"
        return int(con.execute(sql).fetchone()[0])  # type: ignore[index]

    return {
        "title": title,
        "exploded_rows": rows(exploded),
        "exploded_ms": round(_median_ms(con, q_exploded), 1),
        "multi_rows": rows(multi),
        "multi_ms": round(_median_ms(con, q_multi), 1),
    }


def run_profile(profile: str, data: Path, seed: int) -> dict[str, Any]:
    """Ingest one profile into a fresh warehouse and measure it."""
    from keyart.etl.ingest import ingest

    raw = _raw_dir(data, profile, seed)
    target = data / f"{profile}-ingest-bench"
    shutil.rmtree(target, ignore_errors=True)
    print(f"ingesting {raw}", flush=True)
    report = ingest(raw, target, EtlSettings(), progress=True, publish_snapshot=False)
    version = Warehouse(target).current()
    totals = version.manifest["rollups"]
    rollups = [
        {
            "rollup": r.name,
            "rows": totals[r.name],
            "events_per_row": round(report.raw_events / max(totals[r.name], 1), 2),
        }
        for r in ROLLUPS
    ]
    return {
        "profile": profile,
        "raw_events": report.raw_events,
        "elapsed_s": report.elapsed_s,
        "events_per_s": round(report.events_per_s),
        "days": len(report.days),
        "rollups": rollups,
        "affinity_query": _affinity_query_cost(Warehouse(target)),
        "report": report.to_dict(),
    }


def _markdown(results: list[dict[str, Any]]) -> str:
    lines = ["# Ingest benchmark (embedded engine)", ""]
    lines.append(
        markdown_table(
            results,
            [
                ("profile", "profile"),
                ("raw_events", "raw events"),
                ("elapsed_s", "elapsed s"),
                ("events_per_s", "raw events/s"),
                ("days", "days"),
            ],
        )
    )
    lines.append("Target: >= 200,000 raw events/s (DESIGN §7).\n")
    for res in results:
        lines.append(f"## Rollup yield, {res['profile']}\n")
        lines.append(
            markdown_table(
                res["rollups"],
                [("rollup", "rollup"), ("rows", "rows"), ("events_per_row", "raw events/row")],
            )
        )
        q = res["affinity_query"]
        lines.append(
            f"Affinity breakdown of title {q['title']} over all days: exploded table "
            f"{q['exploded_rows']:,} rows in {q['exploded_ms']} ms; multi-value table "
            f"{q['multi_rows']:,} rows in {q['multi_ms']} ms (median of 5, no sketch merge).\n"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the ingest benchmark and write bench/results/ingest.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--profiles", default="demo,bench")
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--seed", type=int, default=7)
    args, _ = parser.parse_known_args(argv)
    results = [
        run_profile(p.strip(), args.data, args.seed) for p in args.profiles.split(",") if p.strip()
    ]
    json_path, md_path = write_results("ingest", {"results": results}, _markdown(results))
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
