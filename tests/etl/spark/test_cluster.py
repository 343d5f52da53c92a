"""The Spark engine with separate executor JVMs builds the embedded engine's warehouse.

`keyart ingest --engine spark --spark-master local-cluster[2,1,1024]` runs a standalone
master and two workers inside the driver's process tree: each executor is its own JVM, so
the query plan, the cached facts, the shuffles and the scratch files really travel between
processes (in `local[n]` mode every task runs in the driver's JVM). It runs in a child
process because a process holds one SparkContext and the other tests' local[2] session may
already be running in this one.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from keyart.etl.report import IngestReport
from keyart.warehouse import Warehouse
from keyart.warehouse.tables import ROLLUPS
from tests.etl.spark.compare import assert_same_rows, assert_same_tables, rollup_rows
from tests.etl.spark.conftest import Built, Tiny

pytestmark = pytest.mark.spark

MASTER = "local-cluster[2,1,1024]"  # 2 workers with 1 core and 1,024 MiB each
EXECUTORS = 2


@pytest.fixture(scope="module")
def cluster_built(tiny: Tiny, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The tiny data ingested by the Spark engine on two executor JVMs, through the CLI."""
    pytest.importorskip("pyspark")
    root = tmp_path_factory.mktemp("spark_cluster") / "wh"
    command = [sys.executable, "-m", "keyart.cli", "ingest", "--raw", str(tiny.full)]
    command += ["--warehouse", str(root), "--engine", "spark", "--spark-master", MASTER]
    # the path a real cluster takes by default (local masters run the day builder; the
    # parity tests cover that one)
    command += ["--spark-rollups", "sql"]
    command += ["--no-progress", "--no-snapshot"]
    # the driver JVM holds the standalone master and workers; executors get their own 1 GiB
    env = {**os.environ, "KEYART_SPARK_DRIVER_MEMORY": "1g"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200, env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    version = Warehouse(root).current()
    return Built(root, (IngestReport.from_dict(version.manifest["report"]),))


def test_the_run_used_separate_executor_processes(cluster_built: Built) -> None:
    report = cluster_built.reports[0]
    assert report.engine == "spark"
    assert report.extra["master"] == MASTER
    assert report.extra["rollups"] == "sql"
    assert report.extra["executors"] == EXECUTORS


def test_counts_match_the_embedded_engine(cluster_built: Built, embedded_full: Built) -> None:
    spark, embedded = cluster_built.reports[0], embedded_full.reports[0]
    for field in ("rows_read", "kept", "duplicates", "quarantined", "rollup_rows"):
        assert getattr(spark, field) == getattr(embedded, field), field
    for field in ("qualified_plays", "attributed_plays", "unattributed_plays"):
        assert getattr(spark, field) == getattr(embedded, field), field


def test_warehouse_matches_the_embedded_engine(cluster_built: Built, embedded_full: Built) -> None:
    spark_v = Warehouse(cluster_built.root).current()
    embedded_v = Warehouse(embedded_full.root).current()
    assert spark_v.days == embedded_v.days
    for rollup in ROLLUPS:
        left, right = rollup_rows(spark_v, rollup.name), rollup_rows(embedded_v, rollup.name)
        assert left.num_rows > 0
        assert_same_rows(left, right, rollup.name)
    assert_same_tables(spark_v, embedded_v)


def test_no_scratch_files_are_left_in_the_version(cluster_built: Built) -> None:
    version = Warehouse(cluster_built.root).current()
    assert not list(version.root.rglob("_spark"))
