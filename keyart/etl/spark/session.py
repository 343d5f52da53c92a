"""Starting (or reusing) the SparkSession the Spark ETL engine runs in."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from keyart.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Spark 4 needs Java 17+; used only when neither JAVA_HOME nor `java` is set up
_FALLBACK_JAVA_HOMES = ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-17-openjdk")


def is_local(master: str) -> bool:
    """Whether every executor runs on this machine (`local`, `local[n]`, `local-cluster[…]`)."""
    return master.startswith("local")


def _driver_address(master: str) -> dict[str, str]:
    """Where executors reach the driver: loopback when they all run on this machine; on a
    cluster `KEYART_SPARK_DRIVER_HOST` (a name the workers resolve, e.g. the compose
    service's hostname) or else Spark's own choice (this host's name)."""
    if is_local(master):
        return {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    host = os.environ.get("KEYART_SPARK_DRIVER_HOST")
    if not host:
        return {}
    return {"spark.driver.host": host, "spark.driver.bindAddress": "0.0.0.0"}


def spark_conf(master: str, shuffle_partitions: int = 8) -> dict[str, str]:
    """The Spark settings keyart uses: UTC days, loopback only in local modes, no UI, Arrow
    transfers."""
    conf = {
        "spark.master": master,
        "spark.app.name": "keyart-ingest",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        **_driver_address(master),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        # the ETL is batch work on one machine: the driver holds the collected dims
        "spark.driver.memory": os.environ.get("KEYART_SPARK_DRIVER_MEMORY", "4g"),
        # adaptive execution re-plans the cached facts, which then no longer report their
        # partitioning by day: every rollup became a partial aggregation, a shuffle of
        # partial sketches, a final merge of them and a second shuffle by day. Without
        # it a rollup is one sort and one aggregation per task, and the rows come out in
        # the order they are written (the plans are laid out by hand: nothing to adapt)
        "spark.sql.adaptive.enabled": "false",
        "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "false",
        # hll_sketch_agg keeps a sketch object per group, and a rollup has about as many
        # groups as rows: sorting the rows and keeping one group's sketches at a time is
        # faster than a hash map holding them all (which mostly keeps the GC busy)
        "spark.sql.execution.useObjectHashAggregateExec": "false",
        # the cached frames are built once and read once or twice: compressing their
        # columns cost more time than reading them back saved
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
    }
    executor_memory = os.environ.get("KEYART_SPARK_EXECUTOR_MEMORY")
    if executor_memory:  # executors of a cluster (local modes run in the driver's JVM)
        conf["spark.executor.memory"] = executor_memory
    return conf


def _prepare_environment(master: str) -> None:
    # Spark binds its block manager to SPARK_LOCAL_IP: loopback only when nothing else
    # needs to reach it (a cluster's executors fetch blocks from the driver)
    if is_local(master):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # the day builder runs in Python workers: this interpreter, which has keyart
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if "JAVA_HOME" not in os.environ and shutil.which("java") is None:
        for home in _FALLBACK_JAVA_HOMES:
            if Path(home, "bin", "java").exists():
                os.environ["JAVA_HOME"] = home
                break


def active_session() -> SparkSession | None:
    """The SparkSession already running in this thread, if any."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "the spark engine needs pyspark: pip install 'keyart[spark]' (and Java 17+)"
        ) from exc
    return SparkSession.getActiveSession()


def start_session(master: str = "local[2]", shuffle_partitions: int = 8) -> SparkSession:
    """A SparkSession for the ETL: the active one when there is one, else a new one."""
    active = active_session()
    if active is not None:
        return active
    from pyspark.sql import SparkSession

    _prepare_environment(master)
    builder = SparkSession.builder
    for key, value in spark_conf(master, shuffle_partitions).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM failed to start: report it as a setup problem
        raise ConfigError(f"could not start Spark with master {master!r}: {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def executor_count(spark: SparkSession) -> int:
    """Executor processes apart from the driver that have joined the application (0 in
    `local[n]` mode, where tasks run in the driver's JVM)."""
    status = spark.sparkContext._jsc.sc().getExecutorMemoryStatus()  # no public API
    return max(int(status.size()) - 1, 0)


# SQL settings of `spark_conf` the run's plans depend on for their speed; applied to a
# session the engine did not start (a notebook's) for the run's duration, then restored
RUN_SQL_CONF = (
    "spark.sql.adaptive.enabled",
    "spark.sql.execution.useObjectHashAggregateExec",
    "spark.sql.inMemoryColumnarStorage.compressed",
)


@contextmanager
def spark_session(master: str = "local[2]") -> Iterator[SparkSession]:
    """The session for one ingest run; stopped afterwards only if this call started it."""
    owned = active_session() is None
    session = start_session(master)
    wanted = spark_conf(master)
    before = {key: session.conf.get(key, None) for key in RUN_SQL_CONF}
    for key in RUN_SQL_CONF:
        session.conf.set(key, wanted[key])
    try:
        yield session
    finally:
        if owned:
            session.stop()
        else:
            for key, value in before.items():
                if value is None:
                    session.conf.unset(key)
                else:
                    session.conf.set(key, value)
