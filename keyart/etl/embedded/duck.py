"""The DuckDB connection an embedded run works in, and the SQL snippets its steps share."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from keyart.backends.duckdb.sql import sql_string

EPOCH = date(1970, 1, 1)  # day numbers count days from here
# A valid country code is two letters A-Z: its number is a base-26 pair, in code order.
COUNTRIES = pa.array([chr(65 + i // 26) + chr(65 + i % 26) for i in range(26 * 26)])
_COUNTRY_TYPE = "country_code"


def connect() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection in UTC, using every core, with the country code type."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET threads = {max(os.cpu_count() or 1, 1)}")
    con.execute("SET preserve_insertion_order = false")
    codes = ", ".join(sql_string(c) for c in COUNTRIES.to_pylist())
    con.execute(f"CREATE TYPE {_COUNTRY_TYPE} AS ENUM ({codes})")
    return con


def spill_to(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Let DuckDB spill to `folder` (inside the staging folder, removed with it)."""
    con.execute(f"SET temp_directory = {sql_string(folder)}")


def country_no(column: str) -> str:
    """SQL: the number of a country code column; NULL for anything but a valid code."""
    # an ENUM cast is a dictionary lookup
    return f"enum_code(TRY_CAST({column} AS {_COUNTRY_TYPE}))::SMALLINT"


def day_no(column: str) -> str:
    """SQL: the day number (days since EPOCH) of a timestamp column."""
    return f"date_diff('day', DATE '1970-01-01', CAST({column} AS DATE))::INTEGER"


def day_of(number: int) -> date:
    """The date of a day number."""
    return EPOCH + timedelta(days=number)


__all__ = [
    "COUNTRIES",
    "EPOCH",
    "connect",
    "country_no",
    "day_no",
    "day_of",
    "spill_to",
]
