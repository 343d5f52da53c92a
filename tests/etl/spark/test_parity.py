"""The Spark and embedded engines build the same warehouse from the same raw data: same
rollup keys, equal counts, sketches with equal estimates and registers, same query answers.

The Spark warehouse is built in two runs (days 1-14, then 15-21 appended) and compared to
the embedded engine's single run over all 21 days, which also checks that appending days
(with attribution across the cut) changes nothing."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq
import pytest

from keyart.backends.embedded import EmbeddedBackend
from keyart.query import Dimension, Filter, Granularity, Interval, MetricQuery
from keyart.query.results import QueryResult
from keyart.store import files
from keyart.warehouse import Warehouse
from keyart.warehouse.tables import ALLTIME_ASSETS, ROLLUPS
from tests.etl.spark.compare import (
    assert_same_rows,
    assert_same_tables,
    impression_truth,
    registers,
    rollup_rows,
    table_rows,
    union_estimate,
)
from tests.etl.spark.conftest import Built, Tiny, read_raw

pytestmark = pytest.mark.spark


def test_every_raw_row_is_accounted_for_like_the_embedded_engine(
    tiny: Tiny, spark_appended: Built, embedded_full: Built
) -> None:
    embedded = embedded_full.reports[0]
    runs = spark_appended.reports
    for table in ("impressions", "playbacks"):
        raw_rows = read_raw(tiny.full, table).num_rows
        assert sum(r.rows_read[table] for r in runs) == raw_rows
        for field in ("kept", "duplicates", "events_without_profile"):
            spark_total = sum(getattr(r, field)[table] for r in runs)
            assert spark_total == getattr(embedded, field)[table], (table, field)
        reasons: dict[str, int] = {}
        for r in runs:
            for reason, n in r.quarantined[table].items():
                reasons[reason] = reasons.get(reason, 0) + n
        assert reasons == embedded.quarantined[table]
    for field in ("qualified_plays", "attributed_plays", "unattributed_plays"):
        assert sum(getattr(r, field) for r in runs) == getattr(embedded, field), field
    assert all(r.engine == "spark" for r in runs)


def test_quarantine_files_hold_the_reported_rows(spark_appended: Built) -> None:
    first = spark_appended.reports[0]
    assert first.quarantine_dir is not None
    for table, by_reason in first.quarantined.items():
        if not sum(by_reason.values()):
            continue
        rows = pq.read_table(f"{first.quarantine_dir}/{table}.parquet").to_pylist()
        found: dict[str, int] = {}
        for row in rows:
            found[row["reason"]] = found.get(row["reason"], 0) + 1
        assert found == by_reason


@pytest.mark.parametrize("rollup", [r.name for r in ROLLUPS])
def test_rollups_match_the_embedded_engine(
    rollup: str, spark_appended: Built, embedded_full: Built
) -> None:
    spark_v = Warehouse(spark_appended.root).current()
    embedded_v = Warehouse(embedded_full.root).current()
    assert spark_v.days == embedded_v.days
    assert_same_rows(rollup_rows(spark_v, rollup), rollup_rows(embedded_v, rollup), rollup)


@pytest.mark.parametrize("rollup", [r.name for r in ROLLUPS])
def test_rollups_of_a_local_master_are_byte_identical_to_the_embedded_engines(
    rollup: str, spark_appended: Built, embedded_full: Built
) -> None:
    # on local masters the Spark engine runs the embedded engine's day builder, members in
    # the same order: the sketches are the same bytes, not only the same registers
    spark_v = Warehouse(spark_appended.root).current()
    embedded_v = Warehouse(embedded_full.root).current()
    spark_rows, embedded_rows = rollup_rows(spark_v, rollup), rollup_rows(embedded_v, rollup)
    assert spark_rows.num_rows > 0
    assert spark_rows.equals(embedded_rows)


def test_events_dims_and_alltime_match_the_embedded_engine(
    spark_appended: Built, embedded_full: Built
) -> None:
    spark_v = Warehouse(spark_appended.root).current()
    embedded_v = Warehouse(embedded_full.root).current()
    assert_same_tables(spark_v, embedded_v)


def test_sketches_are_compact_hll4_of_the_configured_lg_k(spark_appended: Built) -> None:
    version = Warehouse(spark_appended.root).current()
    table = pq.read_table(version.alltime_path("assets"), schema=ALLTIME_ASSETS)
    blobs = [b for b in table.column("imp_sketch").to_pylist() if b is not None]
    assert blobs
    for blob in blobs:
        assert blob[3] == version.lg_k  # preamble byte 3: lgK
        assert blob[5] & 0x08  # compact flag
        assert (blob[7] >> 2) & 0x03 == 0  # mode byte, bits 2-3: target type HLL_4


def test_alltime_counts_and_bounds_match_exact_truth_from_raw(
    tiny: Tiny, spark_appended: Built
) -> None:
    truth = impression_truth([{t: read_raw(tiny.full, t) for t in ("assets", "impressions")}])
    version = Warehouse(spark_appended.root).current()
    rows = pq.read_table(version.alltime_path("assets")).to_pylist()
    assert {r["asset_id"]: r["impressions"] for r in rows if r["impressions"]} == (
        truth.impressions
    )
    for row in rows:
        exact = len(truth.members.get(row["asset_id"], ()))
        _, lower, upper = union_estimate(row["imp_sketch"])
        assert lower <= exact <= upper, row["asset_id"]


def test_union_of_spark_and_embedded_sketches_counts_each_member_once(
    tiny: Tiny, spark_appended: Built, embedded_full: Built
) -> None:
    truth = impression_truth([{t: read_raw(tiny.full, t) for t in ("assets", "impressions")}])
    spark_rows = table_rows(
        Warehouse(spark_appended.root).current().alltime_path("titles"), "title_id"
    ).to_pylist()
    embedded_rows = table_rows(
        Warehouse(embedded_full.root).current().alltime_path("titles"), "title_id"
    ).to_pylist()
    checked = 0
    for s, e in zip(spark_rows, embedded_rows, strict=True):
        if s["imp_sketch"] is None:
            continue
        value, lower, upper = union_estimate(s["imp_sketch"], e["imp_sketch"])
        # the same members on both sides: the union is either side alone, not twice it
        assert value == registers(s["imp_sketch"]) == registers(e["imp_sketch"])
        assert lower <= len(truth.title_members[s["title_id"]]) <= upper
        checked += 1
    assert checked > 0


def _queries(start: date, end: date, title: str, asset: str, label: str) -> list[MetricQuery]:
    window = Interval(start, end)
    return [
        MetricQuery(window, group_by=(Dimension.ASSET,)),
        MetricQuery(window, group_by=(Dimension.TITLE, Dimension.COUNTRY)),
        MetricQuery(window, Granularity.DAY, Filter(title_ids=(title,))),
        MetricQuery(window, Granularity.WEEK, Filter(asset_ids=(asset,)), (Dimension.AFFINITY,)),
        MetricQuery(window, Granularity.MONTH, group_by=(Dimension.ASSET_TYPE,)),
        MetricQuery(window, filter=Filter(affinities=(label,))),
        MetricQuery(window),
    ]


def _same_answer(left: QueryResult, right: QueryResult) -> None:
    assert len(left.rows) == len(right.rows)
    for a, b in zip(left.rows, right.rows, strict=True):
        assert (a.bucket, a.dims) == (b.bucket, b.dims)
        ma, mb = a.metrics, b.metrics
        for field in ("impressions", "qualified_plays", "play_seconds", "engaged_plays"):
            assert getattr(ma, field) == getattr(mb, field), field
        for field in ("unique_impressions", "unique_players"):
            ea, eb = getattr(ma, field), getattr(mb, field)
            # the same registers; a union of many small sketches may take them in another
            # order (its in-order HIP estimate then differs by far less than a std dev)
            assert abs(ea.value - eb.value) <= (ea.upper - ea.lower) / 8, field
            assert eb.lower <= ea.value <= eb.upper and ea.lower <= eb.value <= ea.upper


async def test_embedded_backend_answers_alike_over_both_warehouses(
    tiny: Tiny, spark_appended: Built, embedded_full: Built
) -> None:
    version = Warehouse(embedded_full.root).current()
    assets = pq.read_table(version.dim_path("assets")).to_pylist()
    label = next(
        v for v in rollup_rows(version, "asset_affinity_day").column("affinity").to_pylist() if v
    )
    first = assets[0]
    queries = _queries(
        version.days[0], version.days[-1], first["title_id"], first["asset_id"], label
    )
    spark_backend = EmbeddedBackend(spark_appended.root)
    embedded_backend = EmbeddedBackend(embedded_full.root)
    try:
        answered = 0
        for query in queries:
            left = await spark_backend.execute(query)
            right = await embedded_backend.execute(query)
            _same_answer(left, right)
            answered += len(left.rows)
        assert answered > 0
    finally:
        await spark_backend.aclose()
        await embedded_backend.aclose()


def test_spark_run_publishes_a_snapshot(spark_appended: Built) -> None:
    last = spark_appended.reports[-1]
    assert last.snapshot_version is not None
    version = Warehouse(spark_appended.root).current()
    assert last.warehouse_version == version.name
    assert version.manifest["etl"]["engine"] == "spark"
    announced = files.read_announcement(Warehouse(spark_appended.root).snapshots_dir)
    assert announced.version == last.snapshot_version
    assert announced.warehouse_version == version.name
