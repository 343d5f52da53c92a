"""The DuckDB worker pool: cancelled queries are interrupted, errors become keyart errors."""

from __future__ import annotations

import asyncio
import time
from functools import partial

import pyarrow as pa
import pytest

from keyart.backends.duckdb.engine import Cursor, DuckDBRunner
from keyart.backends.duckdb.results import Rows
from keyart.errors import BackendUnavailable, BadQuery

ENDLESS = "SELECT count(*) FROM range(1000000000000) t(i) WHERE i % 7 = 3"


async def test_cancelled_query_is_interrupted() -> None:
    runner = DuckDBRunner(threads=1, workers=1, name="test")
    try:
        task = asyncio.create_task(runner.run(lambda c: c.arrow(ENDLESS, ()), "endless"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the only worker is free again: the endless statement was stopped, not abandoned
        started = time.perf_counter()
        table = await asyncio.wait_for(runner.run(lambda c: c.arrow("SELECT 42 AS x", ()), "x"), 30)
        assert table.column("x").to_pylist() == [42]
        assert time.perf_counter() - started < 30
    finally:
        runner.close()


async def test_errors_are_mapped() -> None:
    runner = DuckDBRunner(name="test")
    try:
        with pytest.raises(BadQuery, match="bad sql"):
            await runner.run(lambda c: c.arrow("SELEC nonsense", ()), "bad sql")
        with pytest.raises(BackendUnavailable, match="missing file"):
            await runner.run(
                lambda c: c.arrow("SELECT * FROM read_parquet(?)", ["/nonexistent/x.parquet"]),
                "missing file",
            )
    finally:
        runner.close()


async def test_parameters_are_bound() -> None:
    runner = DuckDBRunner(name="test")
    try:
        table = await runner.run(lambda c: c.arrow("SELECT ? AS v", ["x'); DROP"]), "bind")
        assert table.column("v").to_pylist() == ["x'); DROP"]
    finally:
        runner.close()


async def test_disabled_optimizers_apply_to_every_worker() -> None:
    """The setting is the database's, so each worker thread's cursor plans without them
    (and a statement that needs nothing of them still answers)."""
    runner = DuckDBRunner(
        workers=2, name="test", disabled_optimizers=("compressed_materialization",)
    )
    plain = DuckDBRunner(workers=1, name="test")
    setting = "SELECT current_setting('disabled_optimizers') AS v"
    try:
        got = await asyncio.gather(
            *(runner.run(lambda c: c.arrow(setting, []), "setting") for _ in range(4))
        )
        assert {t.column("v")[0].as_py() for t in got} == {"compressed_materialization"}
        other = await plain.run(lambda c: c.arrow(setting, []), "setting")
        assert other.column("v")[0].as_py() == ""
        grouped = await runner.run(
            lambda c: c.arrow(
                "SELECT k, sum(v) AS s FROM (VALUES ('a', 1), ('b', 2), ('a', 3)) t(k, v) "
                "GROUP BY k ORDER BY k",
                [],
            ),
            "group",
        )
        assert grouped.to_pylist() == [{"k": "a", "s": 4}, {"k": "b", "s": 2}]
    finally:
        runner.close()
        plain.close()


async def test_rows_and_arrow_fetch_the_same_rows() -> None:
    runner = DuckDBRunner(workers=1, name="test")
    sql = "SELECT range AS n, [CAST(range AS VARCHAR)::BLOB] AS b FROM range(?)"
    try:
        for count in (0, 1, 40):
            rows = await runner.run(partial(_rows, sql=sql, params=[count]), "rows")
            table = await runner.run(partial(_arrow, sql=sql, params=[count]), "arrow")
            assert rows.names == ("n", "b") == tuple(table.column_names)
            assert rows.rows == [(i, [str(i).encode()]) for i in range(count)]
            for name in rows.names:
                assert rows.column(name) == table.column(name).to_pylist()
    finally:
        runner.close()


def _rows(cursor: Cursor, sql: str, params: list[int]) -> Rows:
    return cursor.rows(sql, params)


def _arrow(cursor: Cursor, sql: str, params: list[int]) -> pa.Table:
    return cursor.arrow(sql, params)
