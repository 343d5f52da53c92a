"""Dimensions of the new version: titles and assets (this run's valid rows over the
parent's), their dense numbers, and the members' affinity label sets.

Creates `dim_titles`, `dim_assets`, `title_codes` (title_no, title_id), `asset_codes`
(asset_no, asset_id, title_id, asset_type, title_no, type_no), `cls_members` and
`profiles` (member_id, labels).
"""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq

from keyart.backends.duckdb.sql import sql_string
from keyart.etl import contract, rules
from keyart.etl.embedded.clean import classify
from keyart.warehouse.layout import Version
from keyart.warehouse.tables import ASSETS, TITLES

_COLUMNS = {
    "titles": "title_id, name, kind, coalesce(genres, []) AS genres, launch_date",
    "assets": "asset_id, title_id, asset_type, name, coalesce(tags, []) AS tags, media_url",
}
# an asset's title must be a known title
_REFERENCES = {
    "titles": "",
    "assets": "LEFT JOIN (SELECT DISTINCT title_id AS _ref_title_id FROM dim_titles) _r"
    " ON _t.title_id = _r._ref_title_id",
}


def build_dimensions(
    con: duckdb.DuckDBPyConnection, raw: contract.RawInput, parent: Version | None
) -> None:
    """Classify the dimension tables and build the dimensions and their codes."""
    for name in ("titles", "assets"):
        classify(con, raw, name, _REFERENCES[name])
        key = rules.DIM_KEYS[name]
        columns = _COLUMNS[name]
        old = ""
        if parent is not None and parent.dim_path(name).exists():
            old = (
                f" UNION ALL SELECT {columns} FROM read_parquet("
                f"{sql_string(str(parent.dim_path(name)))}) WHERE {key} NOT IN"
                f" (SELECT {key} FROM cls_{name} WHERE reason IS NULL)"
            )
        con.execute(
            f"CREATE TABLE dim_{name} AS SELECT {columns} FROM cls_{name} WHERE reason IS NULL{old}"
        )
    number_dimensions(con, "dim_titles", "dim_assets")
    classify(con, raw, "members")
    # a member's label set: distinct, sorted, without NULLs (list_distinct drops them)
    con.execute(
        "CREATE TABLE profiles AS SELECT member_id,"
        " list_sort(list_distinct(coalesce(affinities, []))) AS labels"
        " FROM cls_members WHERE reason IS NULL"
    )


def number_dimensions(con: duckdb.DuckDBPyConnection, titles: str, assets: str) -> None:
    """Create `title_codes` (title_no, title_id) and `asset_codes` (asset_no, asset_id,
    title_id, asset_type, title_no, type_no) from the clean dimension relations `titles`
    and `assets`: the numbering every table built from codes relies on (the Spark engine's
    all-time tables too, to be byte-identical)."""
    # dense numbers in key order, so comparing numbers compares ids (attribution ties)
    con.execute(
        "CREATE TABLE title_codes AS SELECT"
        " (row_number() OVER (ORDER BY title_id) - 1)::INTEGER AS title_no, title_id"
        f" FROM {titles}"
    )
    con.execute(
        "CREATE TABLE asset_codes AS SELECT"
        " (row_number() OVER (ORDER BY a.asset_id) - 1)::INTEGER AS asset_no,"
        " a.asset_id, a.title_id, a.asset_type, t.title_no,"
        " (dense_rank() OVER (ORDER BY a.asset_type) - 1)::INTEGER AS type_no"
        f" FROM {assets} a JOIN title_codes t ON t.title_id = a.title_id"
    )


def write_dimensions(con: duckdb.DuckDBPyConnection, view: Version) -> None:
    """Write the titles and assets dimensions into the staged version."""
    for name, schema in (("titles", TITLES), ("assets", ASSETS)):
        key = rules.DIM_KEYS[name]
        table = con.sql(f"SELECT * FROM dim_{name} ORDER BY {key}").to_arrow_table()
        table = table.select(schema.names).cast(schema)
        path = view.dim_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)


__all__ = [
    "build_dimensions",
    "number_dimensions",
    "write_dimensions",
]
