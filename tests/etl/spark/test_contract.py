"""The Spark engine checks the raw contract before Spark starts or anything is written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keyart.config import EtlSettings
from keyart.errors import ContractError
from keyart.etl.schemas import RAW_TABLES
from keyart.etl.spark import ingest_spark


def _raw(tmp_path: Path, broken: str | None = None, drop: str | None = None) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, schema in RAW_TABLES.items():
        if name == broken:
            continue
        if name == drop:
            schema = schema.remove(schema.get_field_index("member_id"))
        pq.write_table(schema.empty_table(), raw / f"{name}.parquet")
    return raw


def test_missing_table_stops_the_run_before_spark_starts(tmp_path: Path) -> None:
    raw = _raw(tmp_path, broken="playbacks")
    with pytest.raises(ContractError, match="missing table 'playbacks'"):
        ingest_spark(raw, tmp_path / "wh", EtlSettings())
    assert not (tmp_path / "wh").exists()


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    raw = _raw(tmp_path, drop="impressions")
    with pytest.raises(ContractError, match=r"impressions\.parquet.*'member_id'"):
        ingest_spark(raw, tmp_path / "wh", EtlSettings())
    assert not (tmp_path / "wh").exists()


def test_wrong_type_is_refused(tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    schema = RAW_TABLES["members"]
    bad = pa.schema(
        [f if f.name != "member_id" else pa.field("member_id", pa.string()) for f in schema]
    )
    pq.write_table(bad.empty_table(), raw / "members.parquet")
    with pytest.raises(ContractError, match="member_id"):
        ingest_spark(raw, tmp_path / "wh", EtlSettings())
