"""Incremental Spark ingests: on local masters the all-time tables are rebuilt from every
day of the new version by the embedded engine's builder; on the SQL path appended days are
merged into them without reading history and a replaced day rebuilds what it touched. All
give the same tables as the embedded engine (which recomputes everything) and as exact
counts from raw."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from keyart.etl.spark.alltime import AlltimePlan, plan
from keyart.warehouse import Warehouse
from keyart.warehouse.layout import day_partition
from tests.etl.spark.compare import (
    assert_same_rows,
    impression_truth,
    rollup_rows,
    table_rows,
    union_estimate,
)
from tests.etl.spark.conftest import SETTINGS, Built, Tiny, read_raw

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def sql_appended(spark: Any, tiny: Tiny, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Part A ingested, then part B appended with the SQL rollups and all-time merge."""
    from keyart.etl.spark import ingest_spark

    root = tmp_path_factory.mktemp("spark_ab_sql") / "wh"
    first = ingest_spark(tiny.part_a, root, SETTINGS, publish_snapshot=False)
    second = ingest_spark(tiny.part_b, root, SETTINGS, rollups="sql", publish_snapshot=False)
    return Built(root, (first, second))


@pytest.fixture(scope="module")
def sql_replaced(
    spark: Any, tiny: Tiny, spark_appended: Built, tmp_path_factory: pytest.TempPathFactory
) -> Built:
    """The appended warehouse with day 5 re-ingested on the SQL path."""
    from keyart.etl.spark import ingest_spark

    root = Path(tmp_path_factory.mktemp("spark_redo_sql")) / "wh"
    shutil.copytree(spark_appended.root, root)
    report = ingest_spark(tiny.replace, root, SETTINGS, rollups="sql", publish_snapshot=False)
    return Built(root, (*spark_appended.reports, report))


def _alltime_equal(left: Built, right: Built, left_version: str | None = None) -> None:
    lw, rw = Warehouse(left.root), Warehouse(right.root)
    lv = lw.open(left_version) if left_version else lw.current()
    rv = rw.current()
    for name, key in (("assets", "asset_id"), ("titles", "title_id")):
        assert_same_rows(
            table_rows(lv.alltime_path(name), key),
            table_rows(rv.alltime_path(name), key),
            f"alltime {name}",
        )


def test_first_run_recomputes_and_matches_the_embedded_engine(
    spark_appended: Built, embedded_a: Built
) -> None:
    first = spark_appended.reports[0]
    assert first.extra["alltime"]["mode"] == "version"
    assert first.warehouse_version is not None
    _alltime_equal(spark_appended, embedded_a, first.warehouse_version)
    # the embedded engine's builder over the same days: the very same bytes
    spark_v = Warehouse(spark_appended.root).open(first.warehouse_version)
    embedded_v = Warehouse(embedded_a.root).current()
    for name, key in (("assets", "asset_id"), ("titles", "title_id")):
        left = table_rows(spark_v.alltime_path(name), key)
        assert left.equals(table_rows(embedded_v.alltime_path(name), key)), name


def test_alltime_plan_reads_the_dailies_only_when_parent_days_survive(
    spark_appended: Built,
) -> None:
    version = Warehouse(spark_appended.root).current()
    days = list(version.days)
    later = days[-1] + timedelta(days=1)
    assert plan(None, days, 0) == AlltimePlan("recompute", (), "no parent version", True)
    every = plan(version, [*days, later], 0)
    assert (every.mode, every.events_only, every.replaced_days) == ("recompute", True, tuple(days))
    moved = plan(version, [later], 2)
    assert (moved.mode, moved.events_only) == ("recompute", False)
    assert plan(version, [later], 0) == AlltimePlan("merge", (), "days appended")
    partial = plan(version, [days[3], later], 0)
    assert (partial.mode, partial.events_only, partial.replaced_days) == (
        "partial",
        False,
        (days[3],),
    )


def test_appended_days_rebuild_alltime_from_every_day_of_the_version(
    tiny: Tiny, spark_appended: Built, embedded_full: Built
) -> None:
    first, second = spark_appended.reports
    assert second.parent_version == first.warehouse_version
    assert second.extra["alltime"]["mode"] == "version"
    assert min(second.days) >= tiny.cut.isoformat()
    _alltime_equal(spark_appended, embedded_full)


def test_sql_path_merges_appended_days_into_alltime_without_reading_history(
    tiny: Tiny, sql_appended: Built, embedded_full: Built
) -> None:
    first, second = sql_appended.reports
    assert first.extra["rollups"] == "python" and second.extra["rollups"] == "sql"
    assert second.extra["alltime"]["mode"] == "merge"
    assert second.extra["alltime"]["daily_files_read"] == 0
    # merged = recomputed from everything by the other engine
    _alltime_equal(sql_appended, embedded_full)


def test_appended_run_links_the_parent_days_instead_of_copying(spark_appended: Built) -> None:
    wh = Warehouse(spark_appended.root)
    first, second = spark_appended.reports
    assert first.warehouse_version and second.warehouse_version
    old, new = wh.open(first.warehouse_version), wh.open(second.warehouse_version)
    day = day_partition(old.days[0])
    for rollup in ("asset_country_day", "asset_audience_day"):
        a = next((old.rollup_dir(rollup) / day).glob("*.parquet"))
        b = next((new.rollup_dir(rollup) / day).glob("*.parquet"))
        assert os.stat(a).st_ino == os.stat(b).st_ino
    assert set(old.days) < set(new.days)


def test_replacing_a_day_rebuilds_what_it_touched(
    tiny: Tiny, spark_replaced: Built, embedded_replaced: Built
) -> None:
    last = spark_replaced.reports[-1]
    assert last.days == [tiny.replaced_day.isoformat()]
    assert last.extra["alltime"]["mode"] == "version"
    spark_v = Warehouse(spark_replaced.root).current()
    embedded_v = Warehouse(embedded_replaced.root).current()
    for rollup in ("asset_country_day", "asset_affinity_day", "asset_audience_day"):
        assert_same_rows(
            rollup_rows(spark_v, rollup, [tiny.replaced_day]),
            rollup_rows(embedded_v, rollup, [tiny.replaced_day]),
            rollup,
        )
    _alltime_equal(spark_replaced, embedded_replaced)


def test_sql_path_replacing_a_day_recomputes_the_assets_it_touched(
    tiny: Tiny, sql_replaced: Built, embedded_replaced: Built
) -> None:
    last = sql_replaced.reports[-1]
    assert last.extra["alltime"]["mode"] == "partial"
    assert last.extra["alltime"]["daily_files_read"] > 0
    spark_v = Warehouse(sql_replaced.root).current()
    embedded_v = Warehouse(embedded_replaced.root).current()
    assert_same_rows(
        rollup_rows(spark_v, "asset_country_day", [tiny.replaced_day]),
        rollup_rows(embedded_v, "asset_country_day", [tiny.replaced_day]),
        "asset_country_day",
    )
    _alltime_equal(sql_replaced, embedded_replaced)


def test_replaced_day_counts_match_exact_truth_from_raw(tiny: Tiny, spark_replaced: Built) -> None:
    tables = [
        {t: read_raw(raw, t) for t in ("assets", "impressions")}
        for raw in (tiny.full, tiny.replace)
    ]
    truth = impression_truth(tables)
    version = Warehouse(spark_replaced.root).current()
    day_rows = rollup_rows(version, "asset_country_day", [tiny.replaced_day])
    assert sum(day_rows.column("impressions").to_pylist()) == truth.per_day[tiny.replaced_day]
    rows = pq.read_table(version.alltime_path("assets")).to_pylist()
    assert {r["asset_id"]: r["impressions"] for r in rows if r["impressions"]} == (
        truth.impressions
    )
    for row in rows:
        exact = len(truth.members.get(row["asset_id"], ()))
        _, lower, upper = union_estimate(row["imp_sketch"])
        assert lower <= exact <= upper, row["asset_id"]
