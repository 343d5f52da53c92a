"""The Spark plan ranking only repeated event ids gives every raw row the reason and rank
of the shared classification SQL, on raw events with planted repeats of every kind."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from keyart.etl.rules import DUPLICATE, classify_sql
from keyart.etl.spark.classify import event_classify_sql
from tests.etl.spark.conftest import Tiny, read_raw

pytestmark = pytest.mark.spark

_REFS = {"impressions": {"assets": "cls_t_assets"}, "playbacks": {"titles": "cls_t_titles"}}
_IDS = {"impressions": "impression_id", "playbacks": "playback_id"}


def _planted(rows: pa.Table, id_col: str) -> tuple[pa.Table, dict[str, str]]:
    """`rows` plus repeats: id A repeated later (the first copy stays), id B repeated
    earlier (the new copy wins), id C three times, id D once more with a NULL member
    (invalid: quarantined, not a duplicate), and three more rows without an id; with the
    kept row's member id expected for A, B and C."""
    valid = rows.filter(pc.and_(pc.is_valid(rows.column(id_col)), pc.is_valid(rows["member_id"])))
    a, b, c, d = (valid.slice(i, 1) for i in range(4))
    ids = {str(t[id_col][0]) for t in (a, b, c, d)}
    assert len(ids) == 4

    def shifted(one: pa.Table, seconds: int, member: int | None) -> pa.Table:
        times = pc.add(one["event_time"], pa.scalar(timedelta(seconds=seconds)))
        out = one.set_column(one.schema.get_field_index("event_time"), "event_time", times)
        value = pa.array([member], pa.int64())
        return out.set_column(out.schema.get_field_index("member_id"), "member_id", value)

    no_id = valid.slice(4, 3)
    no_id = no_id.set_column(
        no_id.schema.get_field_index(id_col), id_col, pa.nulls(3, rows.schema.field(id_col).type)
    )
    extra = [
        shifted(a, 60, 10**9 + 1),
        shifted(b, -60, 10**9 + 2),
        shifted(c, 30, 10**9 + 3),
        shifted(c, 90, 10**9 + 4),
        shifted(d, 0, None),
        no_id,
        no_id,
    ]
    expected = {
        str(a[id_col][0]): str(a["member_id"][0]),
        str(b[id_col][0]): str(10**9 + 2),
        str(c[id_col][0]): str(c["member_id"][0]),
    }
    return pa.concat_tables([rows, *(t.cast(rows.schema) for t in extra)]), expected


@pytest.mark.parametrize("table", ["impressions", "playbacks"])
def test_ranking_only_repeated_ids_classifies_as_the_shared_sql(
    spark: Any, tiny: Tiny, tmp_path: Path, table: str
) -> None:
    for dim in ("titles", "assets"):
        spark.createDataFrame(read_raw(tiny.full, dim)).createOrReplaceTempView(f"cls_t_{dim}")
    rows, expected = _planted(read_raw(tiny.full, table), _IDS[table])
    spark.createDataFrame(rows).createOrReplaceTempView("cls_t_raw")

    shared = spark.sql(classify_sql(table, "cls_t_raw", _REFS[table]))
    planned = spark.sql(event_classify_sql(table, "cls_t_raw", _REFS[table]))
    assert planned.schema == shared.schema
    assert planned.count() == shared.count() == rows.num_rows
    assert planned.exceptAll(shared).count() == 0
    assert shared.exceptAll(planned).count() == 0

    id_col = _IDS[table]
    kept = {
        str(r[id_col]): str(r["member_id"])
        for r in planned.where(f"reason IS NULL AND {id_col} IS NOT NULL").collect()
    }
    for event_id, member in expected.items():
        assert kept[event_id] == member
    reasons = planned.where(f"{id_col} IS NULL AND reason IS NULL").select("_rank").collect()
    ranks = sorted(int(r["_rank"]) for r in reasons)
    assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) >= 6
    duplicates = planned.where(f"reason = '{DUPLICATE}'").count()
    assert duplicates >= 4  # A, B, C twice: the planted repeats and any of the raw data
