"""Helpers of the Spark tests: reading warehouse tables, comparing sketches, and exact truth
computed straight from raw Parquet (independently of either engine's code)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import datasketches as ds
import duckdb
import pyarrow as pa

from keyart.warehouse.layout import Version

LG_K = 14
SKETCHES = ("imp_sketch", "play_sketch")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _arrow(query: str) -> pa.Table:
    """The rows of a DuckDB query as an Arrow table."""
    relation = duckdb.sql(query)
    assert relation is not None, query
    return relation.to_arrow_table()


def rollup_rows(version: Version, rollup: str, days: Iterable[date] | None = None) -> pa.Table:
    """Every row of one rollup of a version, in key order."""
    keys = {
        "asset_country_day": "day, asset_id, country",
        "asset_affinity_day": "day, asset_id, country, affinity",
        "asset_audience_day": "day, asset_id, country, array_to_string(affinities, '|')",
    }[rollup]
    where = ""
    if days is not None:
        where = "WHERE day IN (" + ", ".join(f"DATE '{d.isoformat()}'" for d in days) + ")"
    return _arrow(
        f"SELECT * FROM read_parquet('{version.rollup_glob(rollup)}', hive_partitioning = false)"
        f" {where} ORDER BY {keys}"
    )


def table_rows(path: Path | str, order: str) -> pa.Table:
    """A Parquet file or glob, in the given order."""
    return _arrow(
        f"SELECT * FROM read_parquet('{path}', hive_partitioning = false) ORDER BY {order}"
    )


def sketch(blob: bytes | None) -> ds.hll_sketch | None:
    """A deserialised sketch (None stays None)."""
    return None if blob is None else ds.hll_sketch.deserialize(blob)


def estimate(blob: bytes | None) -> float:
    """The stored sketch's own estimate (0 for None)."""
    s = sketch(blob)
    return 0.0 if s is None else float(s.get_estimate())


def registers(blob: bytes | None) -> float:
    """An order-free fingerprint of a sketch's content: the composite estimate, which reads
    only the registers (a self-union marks the sketch out of order, dropping HIP)."""
    if blob is None:
        return 0.0
    union = ds.hll_union(LG_K)
    union.update(ds.hll_sketch.deserialize(blob))
    union.update(ds.hll_sketch.deserialize(blob))
    return float(union.get_result(ds.tgt_hll_type.HLL_4).get_estimate())


def union_estimate(*blobs: bytes | None) -> tuple[float, float, float]:
    """Estimate and 2-sigma bounds of the union of sketches."""
    union = ds.hll_union(LG_K)
    for blob in blobs:
        if blob is not None:
            union.update(ds.hll_sketch.deserialize(blob))
    result = union.get_result(ds.tgt_hll_type.HLL_4)
    return result.get_estimate(), result.get_lower_bound(2), result.get_upper_bound(2)


def assert_same_rows(left: pa.Table, right: pa.Table, what: str) -> None:
    """Same rows in the same order: plain columns equal, sketches with equal estimates and
    equal registers."""
    assert left.schema.equals(right.schema), f"{what}: schemas differ"
    assert left.num_rows == right.num_rows, f"{what}: {left.num_rows} vs {right.num_rows} rows"
    plain = [c for c in left.column_names if c not in SKETCHES]
    assert left.select(plain).equals(right.select(plain)), f"{what}: keys or counts differ"
    for column in SKETCHES:
        if column not in left.column_names:
            continue
        a, b = left.column(column).to_pylist(), right.column(column).to_pylist()
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert (x is None) == (y is None), f"{what} row {i}: {column} null on one side"
            assert estimate(x) == estimate(y), f"{what} row {i}: {column} estimates differ"
            assert registers(x) == registers(y), f"{what} row {i}: {column} registers differ"


@dataclass(frozen=True)
class Truth:
    """Exact figures of valid, deduplicated impressions, from raw Parquet in plain Python."""

    impressions: dict[str, int]  # per asset
    members: dict[str, set[int]]  # distinct members per asset
    title_members: dict[str, set[int]]
    per_day: dict[date, int]


def assert_same_tables(spark: Version, embedded: Version) -> None:
    """The event tables, dimensions and all-time tables of two versions hold the same rows
    (all-time sketches compared as estimates)."""
    for name in ("impressions", "plays"):
        order = "day, event_time, member_id, asset_id"
        left = table_rows(spark.events_glob(name), order)
        assert left.equals(table_rows(embedded.events_glob(name), order)), name
    for name, key in (("titles", "title_id"), ("assets", "asset_id")):
        assert table_rows(spark.dim_path(name), key).equals(
            table_rows(embedded.dim_path(name), key)
        )
        assert_same_rows(
            table_rows(spark.alltime_path(name), key),
            table_rows(embedded.alltime_path(name), key),
            f"alltime {name}",
        )


def impression_truth(tables: list[dict[str, pa.Table]]) -> Truth:
    """Valid impressions (dated, with a member, a known asset and an ISO country), one per
    impression_id, from the given raw directories read in order (later days replace
    earlier ones: a directory's days drop the previous directories' rows of those days)."""
    rows_by_day: dict[date, list[dict[str, Any]]] = {}
    asset_title: dict[str, str] = {}
    for raw in tables:
        for asset in raw["assets"].to_pylist():
            asset_title[asset["asset_id"]] = asset["title_id"]
        fresh: dict[date, list[dict[str, Any]]] = defaultdict(list)
        for row in raw["impressions"].to_pylist():
            if row["event_time"] is not None:
                fresh[row["event_time"].date()].append(row)
        rows_by_day.update(fresh)
    impressions: dict[str, int] = defaultdict(int)
    members: dict[str, set[int]] = defaultdict(set)
    title_members: dict[str, set[int]] = defaultdict(set)
    per_day: dict[date, int] = defaultdict(int)
    seen: set[str] = set()
    for day in sorted(rows_by_day):
        for row in sorted(rows_by_day[day], key=lambda r: r["event_time"]):
            if row["member_id"] is None or row["asset_id"] not in asset_title:
                continue
            if row["country"] is None or not _COUNTRY.match(row["country"]):
                continue
            if row["impression_id"] is not None:
                if row["impression_id"] in seen:
                    continue
                seen.add(row["impression_id"])
            impressions[row["asset_id"]] += 1
            members[row["asset_id"]].add(row["member_id"])
            title_members[asset_title[row["asset_id"]]].add(row["member_id"])
            per_day[day] += 1
    return Truth(dict(impressions), dict(members), dict(title_members), dict(per_day))


__all__ = [
    "Truth",
    "assert_same_rows",
    "estimate",
    "impression_truth",
    "registers",
    "rollup_rows",
    "table_rows",
    "union_estimate",
]
