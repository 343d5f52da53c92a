"""Reading a validated raw directory into Spark, cast to the raw contract's types."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from keyart.errors import ContractError
from keyart.etl.contract import RawInput, RawTable, contract_kind
from keyart.etl.rules import DIM_KEYS, SOURCE_FILE, SOURCE_ROW

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


# with the session time zone at UTC, naive (TIMESTAMP_NTZ) values are taken as UTC
SPARK_TYPES = {
    "int64": "BIGINT",
    "timestamp": "TIMESTAMP",
    "date32": "DATE",
    "list<string>": "ARRAY<STRING>",
    "string": "STRING",
}


def spark_type(arrow: pa.DataType) -> str:
    """The Spark SQL type a raw contract column is cast to."""
    return SPARK_TYPES[contract_kind(arrow)]


def cast_select_sql(table: RawTable, source: str, extra: tuple[str, ...] = ()) -> str:
    """A Spark SELECT over `source` keeping the contract columns, cast to contract types
    (with the `extra` select items appended as they are)."""
    cols = ", ".join(
        [f"CAST(`{f.name}` AS {spark_type(f.type)}) AS `{f.name}`" for f in table.schema]
        + list(extra)
    )
    return f"SELECT {cols} FROM {source}"


# where a dimension row came from (rules.keep_order_sql keeps the last delivered row);
# the hidden _metadata column is only reachable through the DataFrame that reads the files
_SOURCE = (SOURCE_FILE, f"CAST({SOURCE_ROW} AS BIGINT) AS {SOURCE_ROW}")


def load_raw(spark: SparkSession, raw: RawInput, prefix: str = "raw_") -> dict[str, DataFrame]:
    """Every raw table as a DataFrame of contract columns, also registered as the temp
    view `<prefix><table>`."""
    frames: dict[str, DataFrame] = {}
    for name, table in raw.tables.items():
        try:
            files = spark.read.parquet(*(str(p) for p in table.files))
            if name in DIM_KEYS:
                files = files.selectExpr(
                    "*",
                    f"_metadata.file_path AS {SOURCE_FILE}",
                    f"_metadata.row_index AS {SOURCE_ROW}",
                )
            files.createOrReplaceTempView(f"_{prefix}{name}_files")
            extra = _SOURCE if name in DIM_KEYS else ()
            frame = spark.sql(cast_select_sql(table, f"_{prefix}{name}_files", extra))
        except Exception as exc:  # Spark's AnalysisException and friends: name the table
            raise ContractError(f"{raw.root}: table {name!r} cannot be read: {exc}") from exc
        frame.createOrReplaceTempView(f"{prefix}{name}")
        frames[name] = frame
    return frames
