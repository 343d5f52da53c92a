"""Shared fixtures of the Spark tests: one SparkSession (local[2], loopback, no UI) for the
whole test run, the tiny raw data split by day, and warehouses built by both engines."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from keyart.config import EtlSettings
from keyart.etl.report import IngestReport

SETTINGS = EtlSettings()
EVENT_TABLES = ("impressions", "playbacks")
DIM_TABLES = ("titles", "assets", "members")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The session-wide SparkSession; Spark's JVM starts once per test session."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("the Spark tests need Java 17+ on PATH")
    from keyart.etl.spark.session import active_session, start_session

    existing = active_session()
    session = start_session("local[2]", shuffle_partitions=2)
    yield session
    if existing is None:
        session.stop()


def read_raw(raw: Path, table: str) -> pa.Table:
    """One raw table, whether a single file or a folder of files."""
    single = raw / f"{table}.parquet"
    if single.exists():
        return pq.read_table(single)
    return pa.concat_tables(pq.read_table(p) for p in sorted((raw / table).glob("*.parquet")))


def write_raw(
    src: Path, dst: Path, keep: Callable[[str, pa.Table], pa.Table] | None = None
) -> Path:
    """A raw directory with `src`'s dimension tables and its event tables filtered by
    `keep(table, rows)`."""
    dst.mkdir(parents=True)
    for table in DIM_TABLES:
        pq.write_table(read_raw(src, table), dst / f"{table}.parquet")
    for table in EVENT_TABLES:
        rows = read_raw(src, table)
        pq.write_table(rows if keep is None else keep(table, rows), dst / f"{table}.parquet")
    return dst


def day_of(rows: pa.Table) -> pa.ChunkedArray:
    """The UTC day of each event (NULL where event_time is NULL)."""
    return pc.cast(rows.column("event_time"), pa.date32())


@dataclass(frozen=True)
class Tiny:
    """The tiny raw data: the whole, its first 14 days (A), the rest (B), and a
    replacement of day 5 holding only the impressions of even member ids."""

    full: Path
    part_a: Path
    part_b: Path
    replace: Path
    start: date
    cut: date
    replaced_day: date


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    from keyart.etl.generator import generate

    root = tmp_path_factory.mktemp("spark_raw")
    summary = generate("tiny", root / "full", seed=7)
    start = summary.start
    cut, replaced = start + timedelta(days=14), start + timedelta(days=5)

    def before(table: str, rows: pa.Table) -> pa.Table:
        day = day_of(rows)
        # undated (quarantined) rows go with part A so that every raw row is read once
        return rows.filter(pc.or_kleene(pc.less(day, cut), pc.is_null(day)))

    def after(table: str, rows: pa.Table) -> pa.Table:
        return rows.filter(pc.fill_null(pc.greater_equal(day_of(rows), cut), False))

    def redo(table: str, rows: pa.Table) -> pa.Table:
        on_day = pc.fill_null(pc.equal(day_of(rows), replaced), False)
        if table == "impressions":
            even = pc.fill_null(pc.equal(pc.bit_wise_and(rows.column("member_id"), 1), 0), False)
            on_day = pc.and_(on_day, even)
        return rows.filter(on_day)

    full = root / "full"
    return Tiny(
        full=full,
        part_a=write_raw(full, root / "a", before),
        part_b=write_raw(full, root / "b", after),
        replace=write_raw(full, root / "redo", redo),
        start=start,
        cut=cut,
        replaced_day=replaced,
    )


@dataclass(frozen=True)
class Built:
    """A warehouse and the reports of the runs that built it, oldest first."""

    root: Path
    reports: tuple[IngestReport, ...]


def _embedded(raws: list[Path], root: Path) -> Built:
    from keyart.etl.embedded import ingest

    reports = tuple(ingest(raw, root, SETTINGS, publish_snapshot=False) for raw in raws)
    return Built(root, reports)


@pytest.fixture(scope="session")
def embedded_full(tiny: Tiny, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The embedded engine's warehouse of the whole tiny data in one run."""
    return _embedded([tiny.full], tmp_path_factory.mktemp("emb_full") / "wh")


@pytest.fixture(scope="session")
def embedded_a(tiny: Tiny, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The embedded engine's warehouse of part A only."""
    return _embedded([tiny.part_a], tmp_path_factory.mktemp("emb_a") / "wh")


@pytest.fixture(scope="session")
def embedded_replaced(
    tiny: Tiny, embedded_full: Built, tmp_path_factory: pytest.TempPathFactory
) -> Built:
    """The embedded warehouse of the whole data, then day 5 re-ingested (replaced)."""
    root = tmp_path_factory.mktemp("emb_redo") / "wh"
    shutil.copytree(embedded_full.root, root)
    built = _embedded([tiny.replace], root)
    return Built(root, (*embedded_full.reports, *built.reports))


@pytest.fixture(scope="session")
def spark_appended(spark: Any, tiny: Tiny, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The Spark engine's warehouse of part A, then part B appended (two versions)."""
    from keyart.etl.spark import ingest_spark

    root = tmp_path_factory.mktemp("spark_ab") / "wh"
    first = ingest_spark(tiny.part_a, root, SETTINGS, publish_snapshot=False)
    second = ingest_spark(tiny.part_b, root, SETTINGS, publish_snapshot=True)
    return Built(root, (first, second))


@pytest.fixture(scope="session")
def spark_replaced(
    spark: Any, tiny: Tiny, spark_appended: Built, tmp_path_factory: pytest.TempPathFactory
) -> Built:
    """The appended Spark warehouse with day 5 re-ingested (replaced)."""
    from keyart.etl.spark import ingest_spark

    root = tmp_path_factory.mktemp("spark_redo") / "wh"
    shutil.copytree(spark_appended.root, root)
    report = ingest_spark(tiny.replace, root, SETTINGS, publish_snapshot=False)
    return Built(root, (*spark_appended.reports, report))
