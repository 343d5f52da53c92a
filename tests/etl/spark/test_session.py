"""The Spark session settings: where executors reach the driver, and the SQL settings a run
needs on a session it did not start."""

from __future__ import annotations

from typing import Any

import pytest

from keyart.etl.spark.session import RUN_SQL_CONF, spark_conf, spark_session


def test_local_masters_keep_the_driver_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYART_SPARK_DRIVER_HOST", "ignored-in-local-modes")
    for master in ("local[2]", "local", "local-cluster[2,1,1024]"):
        conf = spark_conf(master)
        assert conf["spark.driver.host"] == "127.0.0.1"
        assert conf["spark.driver.bindAddress"] == "127.0.0.1"


def test_a_cluster_master_advertises_the_configured_driver_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEYART_SPARK_DRIVER_HOST", "keyart-spark-ingest")
    monkeypatch.setenv("KEYART_SPARK_EXECUTOR_MEMORY", "3g")
    conf = spark_conf("spark://spark-master:7077")
    assert conf["spark.driver.host"] == "keyart-spark-ingest"
    assert conf["spark.driver.bindAddress"] == "0.0.0.0"
    assert conf["spark.executor.memory"] == "3g"
    monkeypatch.delenv("KEYART_SPARK_DRIVER_HOST")
    monkeypatch.delenv("KEYART_SPARK_EXECUTOR_MEMORY")
    conf = spark_conf("spark://spark-master:7077")
    assert "spark.driver.host" not in conf  # Spark's own choice: this host's name
    assert "spark.executor.memory" not in conf


def test_every_run_setting_is_part_of_the_session_settings() -> None:
    assert set(RUN_SQL_CONF) <= set(spark_conf("local[2]"))


@pytest.mark.spark
def test_a_run_on_a_session_it_did_not_start_sets_and_restores_its_settings(
    spark: Any,
) -> None:
    wanted = spark_conf("local[2]")
    spark.conf.set("spark.sql.adaptive.enabled", "true")
    spark.conf.unset("spark.sql.execution.useObjectHashAggregateExec")
    try:
        with spark_session("local[2]") as session:
            assert session is spark  # the active session is reused, not stopped
            for key in RUN_SQL_CONF:
                assert session.conf.get(key) == wanted[key]
        assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
        assert spark.conf.get("spark.sql.execution.useObjectHashAggregateExec") == "true"
    finally:
        for key in RUN_SQL_CONF:
            spark.conf.set(key, wanted[key])


def test_auto_rollups_run_the_day_builder_only_where_every_worker_has_keyart() -> None:
    from keyart.etl.spark.engine import rollup_path

    for master in ("local[2]", "local-cluster[2,1,1024]"):
        assert rollup_path("auto", master) == "python"
    assert rollup_path("auto", "spark://spark-master:7077") == "sql"
    # an explicit choice wins whatever the master
    assert rollup_path("python", "spark://spark-master:7077") == "python"
    assert rollup_path("sql", "local[2]") == "sql"
