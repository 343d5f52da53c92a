"""Schema validation of raw input: clear ContractErrors before anything is written, and
compatible types accepted and cast."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keyart.errors import ContractError
from keyart.etl.embedded import ingest
from keyart.etl.schemas import RAW_TABLES
from keyart.warehouse import Warehouse

from .rawdata import Raw, at


def small_world() -> Raw:
    raw = Raw()
    raw.title("t1")
    raw.asset("a1", "t1")
    raw.member(1, "US", ["x"])
    raw.imp(1, "a1", at(0, 1))
    raw.play(1, "t1", at(0, 2), 1000)
    return raw


def schema_with(table: str, **changes: pa.DataType | None) -> pa.Schema:
    fields = []
    for f in RAW_TABLES[table]:
        if f.name in changes:
            if changes[f.name] is None:
                continue
            fields.append(pa.field(f.name, changes[f.name]))
        else:
            fields.append(f)
    return pa.schema(fields)


def assert_nothing_written(wh: Path) -> None:
    assert not wh.exists() or not any(wh.iterdir())


@pytest.mark.parametrize(
    ("table", "changes", "words"),
    [
        ("impressions", {"country": None}, ["impressions.parquet", "'country'", "string"]),
        ("playbacks", {"duration_s": pa.string()}, ["'duration_s'", "string", "int64"]),
        ("impressions", {"event_time": pa.int64()}, ["'event_time'", "timestamp"]),
        ("members", {"affinities": pa.string()}, ["'affinities'", "list<string>"]),
        ("titles", {"launch_date": pa.string()}, ["'launch_date'", "date32"]),
    ],
)
def test_schema_errors_name_file_column_and_types(
    tmp_path: Path, table: str, changes: dict[str, pa.DataType | None], words: list[str]
) -> None:
    raw = small_world()
    root = tmp_path / "raw"
    raw.write(root)
    rows = getattr(raw, table)
    schema = schema_with(table, **changes)
    data = {
        f.name: [str(r[f.name]) if f.type == pa.string() else r[f.name] for r in rows]
        for f in schema
    }
    if changes.get("event_time") == pa.int64():
        data["event_time"] = [1] * len(rows)
    pq.write_table(pa.table(data, schema=schema), root / f"{table}.parquet")
    with pytest.raises(ContractError) as err:
        ingest(root, tmp_path / "wh", publish_snapshot=False)
    for word in words:
        assert word in str(err.value)
    assert str(root / f"{table}.parquet") in str(err.value)
    assert_nothing_written(tmp_path / "wh")


def test_missing_table(tmp_path: Path) -> None:
    root = small_world().write(tmp_path / "raw")
    (root / "members.parquet").unlink()
    with pytest.raises(ContractError, match="missing table 'members'"):
        ingest(root, tmp_path / "wh", publish_snapshot=False)
    assert_nothing_written(tmp_path / "wh")


def test_error_in_second_file_of_a_folder_stops_before_writing(tmp_path: Path) -> None:
    raw = small_world()
    root = raw.write(tmp_path / "raw")
    (root / "impressions.parquet").unlink()
    (root / "impressions").mkdir()
    pq.write_table(
        pa.Table.from_pylist(raw.impressions, RAW_TABLES["impressions"]),
        root / "impressions" / "a.parquet",
    )
    bad = schema_with("impressions", member_id=pa.float64())
    pq.write_table(bad.empty_table(), root / "impressions" / "b.parquet")
    with pytest.raises(ContractError, match=r"b\.parquet.*'member_id'.*double"):
        ingest(root, tmp_path / "wh", publish_snapshot=False)
    assert_nothing_written(tmp_path / "wh")


def test_compatible_types_are_cast(tmp_path: Path) -> None:
    raw = small_world()
    raw.imp(
        1,
        "a1",
        at(
            0,
            23,
        ),
    )
    root = raw.write(
        tmp_path / "raw",
        {
            "playbacks": schema_with(
                "playbacks",
                duration_s=pa.int32(),
                event_time=pa.timestamp("ms"),
                title_id=pa.large_string(),
            ),
            "impressions": schema_with(
                "impressions",
                event_time=pa.timestamp("ns", tz="America/New_York"),
                member_id=pa.int32(),
            ),
            "members": schema_with("members", affinities=pa.large_list(pa.large_string())),
        },
    )
    report = ingest(root, tmp_path / "wh", publish_snapshot=False)
    assert report.kept == {"titles": 1, "assets": 1, "members": 1, "impressions": 2, "playbacks": 1}
    assert report.attributed_plays == 1
    # a zoned timestamp is an instant: 23:00 UTC stays on its UTC day whatever the zone
    assert report.days == [at(0).date().isoformat()]
    assert Warehouse(tmp_path / "wh").current().days == [at(0).date()]
