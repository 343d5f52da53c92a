"""DuckDB SQL text: quoting of our own literals and identifiers, bound parameters, FROM
items and statements (every user value is bound, never spliced)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# `day` is stored in the files; hive partition columns would only duplicate it
READ_PARQUET = "read_parquet(?, hive_partitioning = false)"


def sql_string(text: str | Path) -> str:
    """A single-quoted SQL string literal (for our own file paths and settings, never user
    values: those are bound parameters)."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_strings(texts: Iterable[str | Path]) -> str:
    """A SQL list literal of single-quoted strings, e.g. ['a.parquet', 'b.parquet']."""
    return "[" + ", ".join(sql_string(t) for t in texts) + "]"


def sql_identifier(name: str) -> str:
    """A double-quoted SQL identifier (a column or table name of our own)."""
    return '"' + name.replace('"', '""') + '"'


def safe_identifier(text: str, prefix: str) -> str:
    """An identifier made of `prefix` and `text` with every character outside [0-9A-Za-z_]
    replaced by `_` (usable unquoted, e.g. as a database alias)."""
    return prefix + re.sub(r"[^0-9A-Za-z]", "_", text)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a table's rows come from: a FROM item and the parameters it binds."""

    sql: str
    params: tuple[Any, ...] = ()

    @staticmethod
    def parquet(files: Sequence[str]) -> Source:
        """The given Parquet files (non-empty)."""
        if not files:
            raise ValueError("a Parquet source needs at least one file")
        return Source(READ_PARQUET, (list(files),))

    @staticmethod
    def table(database: str, name: str) -> Source:
        """A table of an attached serving database (identifiers we generate, not user values)."""
        return Source(f"{database}.{name}")

    def bind(self, params: Params) -> str:
        """The FROM item, with its parameters bound in place."""
        for value in self.params:
            params.bind(value)
        return self.sql


@dataclass(frozen=True, slots=True)
class Sql:
    """A statement and its bound parameters, in placeholder order."""

    text: str
    params: tuple[Any, ...]


class Params:
    """Collects bound parameters while SQL text is assembled; returns placeholders."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def bind(self, value: Any) -> str:
        """A placeholder for one value."""
        self.values.append(value)
        return "?"

    def in_list(self, column: str, values: Sequence[str]) -> str:
        """`column = ?` or `column IN (?, …)` over non-empty values."""
        if not values:
            raise ValueError(f"empty value list for {column}; check matches_nothing first")
        if len(values) == 1:
            return f"{column} = {self.bind(values[0])}"
        return f"{column} IN ({', '.join(self.bind(v) for v in values)})"

    def not_in_list(self, column: str, values: Sequence[str]) -> str:
        """`column <> ?` or `column NOT IN (?, …)` over non-empty values."""
        if not values:
            raise ValueError(f"empty exclusion list for {column}")
        if len(values) == 1:
            return f"{column} <> {self.bind(values[0])}"
        return f"{column} NOT IN ({', '.join(self.bind(v) for v in values)})"

    def any_label(self, column: str, labels: Sequence[str]) -> str:
        """A multi-value any-of match: the row's label list shares a label with `labels`."""
        return f"list_has_any({column}, CAST({self.bind(list(labels))} AS VARCHAR[]))"

    def all_labels(self, column: str, labels: Sequence[str]) -> str:
        """A multi-value all-of match: the row's label list holds every one of `labels`."""
        return f"list_has_all({column}, CAST({self.bind(list(labels))} AS VARCHAR[]))"

    def no_label(self, column: str, labels: Sequence[str]) -> str:
        """A multi-value none-of match: the row's label list holds none of `labels` (an
        empty or missing list holds none)."""
        labels_param = self.bind(list(labels))
        return f"NOT coalesce(list_has_any({column}, CAST({labels_param} AS VARCHAR[])), false)"


__all__ = [
    "READ_PARQUET",
    "Params",
    "Source",
    "Sql",
    "safe_identifier",
    "sql_identifier",
    "sql_string",
    "sql_strings",
]
