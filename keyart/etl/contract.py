"""Finds the raw tables of a raw directory and checks their Parquet schemas against the raw
input contract (DESIGN §3) before anything is read or written."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from keyart.errors import ContractError
from keyart.etl.schemas import RAW_TABLES

# How each contract type is spelled in DuckDB when a validated column is cast.
SQL_TYPES: dict[str, str] = {
    "int64": "BIGINT",
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date32": "DATE",
    "list<string>": "VARCHAR[]",
}


@dataclass(frozen=True, slots=True)
class RawTable:
    """One validated raw table: its name and the Parquet files that hold it."""

    name: str
    files: tuple[Path, ...]
    # timestamp columns that are zoned (instants) in every file: read without tz arithmetic
    zoned: frozenset[str] = frozenset()

    @property
    def schema(self) -> pa.Schema:
        """The contract schema of this table."""
        return RAW_TABLES[self.name]


@dataclass(frozen=True, slots=True)
class RawInput:
    """A raw directory whose every table passed schema validation."""

    root: Path
    tables: Mapping[str, RawTable]

    def __getitem__(self, name: str) -> RawTable:
        return self.tables[name]


def _is_string(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_string(t.value_type)
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _is_string_list(t: pa.DataType) -> bool:
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return _is_string(t.value_type)
    return False


def contract_kind(expected: pa.DataType) -> str:
    """The compatibility class of a contract type (a key of SQL_TYPES)."""
    if pa.types.is_integer(expected):
        return "int64"
    if pa.types.is_timestamp(expected):
        return "timestamp"
    if pa.types.is_date(expected):
        return "date32"
    if pa.types.is_list(expected):
        return "list<string>"
    return "string"


# Types accepted for each contract type; they are cast to the contract type on read.
# Timestamps of any unit are accepted, naive ones are taken as UTC.
_ACCEPTS: dict[str, Callable[[pa.DataType], bool]] = {
    "int64": pa.types.is_integer,
    "string": _is_string,
    "timestamp": pa.types.is_timestamp,
    "date32": pa.types.is_date,
    "list<string>": _is_string_list,
}


def table_files(root: Path, name: str) -> tuple[Path, ...]:
    """The Parquet files of table `name`: `<name>.parquet` or every `*.parquet` under
    `<name>/` (hidden files and folders skipped); empty when the table is absent."""
    single = root / f"{name}.parquet"
    if single.is_file():
        return (single,)
    folder = root / name
    if not folder.is_dir():
        return ()
    return tuple(
        sorted(
            p
            for p in folder.rglob("*.parquet")
            if p.is_file()
            and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)
        )
    )


def check_file_schema(path: Path, table: str, found: pa.Schema) -> None:
    """Raise ContractError naming the file, column, expected and found type when `found`
    lacks a contract column or holds one with an incompatible type."""
    names = set(found.names)
    for field in RAW_TABLES[table]:
        kind = contract_kind(field.type)
        if field.name not in names:
            raise ContractError(
                f"{path}: table {table!r} has no column {field.name!r} "
                f"(expected {kind}; found columns: {', '.join(found.names) or 'none'})"
            )
        actual = found.field(field.name).type
        if not _ACCEPTS[kind](actual):
            raise ContractError(
                f"{path}: column {field.name!r} of table {table!r} has type {actual}, "
                f"expected {kind}"
            )


def validate(root: Path | str) -> RawInput:
    """Check that every contract table exists in `root` with a compatible schema in every
    file; ContractError otherwise. Reads Parquet footers only."""
    root = Path(root)
    if not root.is_dir():
        raise ContractError(f"raw directory {root} does not exist")
    tables: dict[str, RawTable] = {}
    for name in RAW_TABLES:
        files = table_files(root, name)
        if not files:
            raise ContractError(
                f"{root}: missing table {name!r} (expected {name}.parquet or a folder "
                f"{name}/ of Parquet files)"
            )
        zoned = {f.name for f in RAW_TABLES[name] if pa.types.is_timestamp(f.type)}
        for path in files:
            try:
                schema = pq.read_schema(path)
            except (OSError, pa.ArrowException) as exc:
                raise ContractError(f"{path}: not a readable Parquet file: {exc}") from exc
            check_file_schema(path, name, schema)
            zoned = {c for c in zoned if schema.field(c).type.tz is not None}
        tables[name] = RawTable(name, files, frozenset(zoned))
    return RawInput(root, tables)


def cast_select_sql(table: RawTable, source: str, extra: tuple[str, ...] = ()) -> str:
    """A SELECT over `source` (any relation holding the table's columns) that keeps the
    contract columns, cast to the contract types. With the session time zone set to UTC,
    CAST(... AS TIMESTAMP) turns zoned timestamps into UTC wall time and keeps naive ones;
    a column zoned in every file takes a cheaper route to the same value (the UTC wall
    time of its microseconds since the epoch, without time-zone arithmetic per row).
    `extra` select items are appended as they are."""
    items = [_cast(f, table.zoned) for f in table.schema] + list(extra)
    return f"SELECT {', '.join(items)} FROM {source}"


def _cast(field: pa.Field, zoned: frozenset[str]) -> str:
    name = _q(field.name)
    if field.name in zoned:
        return f"make_timestamp(epoch_us(CAST({name} AS TIMESTAMPTZ))) AS {name}"
    return f"CAST({name} AS {SQL_TYPES[contract_kind(field.type)]}) AS {name}"


def _q(name: str) -> str:
    return f'"{name}"'


__all__ = [
    "SQL_TYPES",
    "RawInput",
    "RawTable",
    "cast_select_sql",
    "contract_kind",
    "table_files",
    "validate",
]
