"""Classification and de-duplication of the raw tables (the shared contract's rules run by
DuckDB), and what they found: kept, quarantined and duplicate rows, conflicting keys.

Creates `cls_<table>` for each raw table: every raw row with the contract columns,
`reason` (NULL = kept) and the columns its joins add.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from keyart.backends.duckdb.sql import sql_string, sql_strings
from keyart.errors import IngestError
from keyart.etl import contract, rules
from keyart.etl.embedded.duck import country_no, day_no, day_of
from keyart.etl.runs import CONFLICT_EXAMPLES, Accounting, Conflicts
from keyart.etl.schemas import RAW_TABLES


def classify(
    con: duckdb.DuckDBPyConnection,
    raw: contract.RawInput,
    name: str,
    joins: str = "",
    extra: str = "",
) -> None:
    """cls_<name>: every raw row with the contract columns, `reason` (NULL = kept) and
    the `extra` columns of the `joins`; the same outcome as the portable
    `rules.classify_sql`, but the duplicate ranking only looks at repeated ids."""
    table = raw.tables[name]
    source = f"read_parquet({sql_strings(list(table.files))}, union_by_name = true"
    carried: tuple[str, ...] = ()
    if name in rules.DIM_KEYS:
        # which row came last decides between repeated keys (rules.keep_order_sql)
        source += ", filename = '_keyart_file', file_row_number = true"
        carried = (
            f"_keyart_file AS {rules.SOURCE_FILE}",
            f"file_row_number AS {rules.SOURCE_ROW}",
        )
    source += ")"
    cols = ", ".join(f"_t.{c}" for c in rules.columns(name) + tuple(c.split()[-1] for c in carried))
    try:
        con.execute(
            f"CREATE TABLE cls_{name} AS SELECT {cols}, {rules.reason_sql(name)} AS reason"
            f"{extra} FROM ({contract.cast_select_sql(table, source, carried)}) _t {joins}"
        )
    except duckdb.Error as exc:
        raise IngestError(f"{raw.root}: table {name!r} cannot be read: {exc}") from exc
    _dedupe(con, name)


def _dedupe(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Mark every valid row but the first of each repeated id/key as a duplicate.
    Repeats are rare: numpy finds the repeated hashes of the ids, and only rows with
    such a hash are ranked exactly."""
    key = rules.key_column(name)
    valid = f"reason IS NULL AND {key} IS NOT NULL"
    hashes = con.execute(f"SELECT hash({key}) AS h FROM cls_{name} WHERE {valid}")
    ordered = np.sort(hashes.fetchnumpy()["h"])
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if not len(repeated):
        return
    con.register("_repeated", pa.table({"h": repeated}))
    con.execute(
        f"UPDATE cls_{name} SET reason = '{rules.duplicate_reason(name)}' WHERE rowid IN"
        f" (SELECT rid FROM (SELECT rowid AS rid, ROW_NUMBER() OVER (PARTITION BY {key}"
        f" ORDER BY {rules.keep_order_sql(name)}) AS rn FROM cls_{name}"
        f" WHERE {valid} AND hash({key}) IN (SELECT h FROM _repeated)) WHERE rn > 1)"
    )
    con.unregister("_repeated")


def classify_events(con: duckdb.DuckDBPyConnection, raw: contract.RawInput) -> None:
    """cls_impressions and cls_playbacks, with their assets, titles, countries and days as
    numbers (needs `asset_codes` and `title_codes` from `keyart.etl.embedded.dimensions`)."""
    classify(
        con,
        raw,
        "impressions",
        "LEFT JOIN (SELECT asset_id AS _ref_asset_id, asset_no FROM asset_codes) _r"
        " ON _t.asset_id = _r._ref_asset_id",
        f", _r.asset_no, {country_no('_t.country')} AS country_no,"
        f" {day_no('_t.event_time')} AS day_no",
    )
    # the play's own asset_id as a number too: an explicit asset is compared by number
    classify(
        con,
        raw,
        "playbacks",
        "LEFT JOIN (SELECT title_id AS _ref_title_id, title_no FROM title_codes) _r"
        " ON _t.title_id = _r._ref_title_id"
        " LEFT JOIN (SELECT asset_id AS _own_asset_id, asset_no FROM asset_codes) _a"
        " ON _t.asset_id = _a._own_asset_id",
        f", _r.title_no, _a.asset_no, {day_no('_t.event_time')} AS day_no",
    )


def accounting(con: duckdb.DuckDBPyConnection, raw: contract.RawInput) -> Accounting:
    """Kept, quarantined (by reason) and duplicate rows of every raw table, and conflicts."""
    kept: dict[str, int] = {}
    quarantined: dict[str, dict[str, int]] = {}
    duplicates: dict[str, int] = {}
    for name in raw.tables:
        counts = dict(con.execute(f"SELECT reason, count(*) FROM cls_{name} GROUP BY 1").fetchall())
        kept[name] = int(counts.pop(None, 0))
        if name in rules.EVENT_IDS:
            duplicates[name] = int(counts.pop(rules.DUPLICATE, 0))
        quarantined[name] = {str(k): int(v) for k, v in sorted(counts.items())}
    return Accounting(kept, quarantined, duplicates, conflicts(con))


def conflicts(con: duckdb.DuckDBPyConnection) -> dict[str, Conflicts]:
    """Dimension keys whose valid rows disagree in content, per table."""
    found = {}
    for name in rules.DIM_KEYS:
        rows = con.execute(rules.conflict_sql(name, f"cls_{name}", CONFLICT_EXAMPLES)).fetchall()
        if rows:
            found[name] = Conflicts(int(rows[0][1]), [str(r[0]) for r in rows])
    return found


def new_days(con: duckdb.DuckDBPyConnection) -> list[date]:
    """The days the raw events touch (valid timestamps, kept or not)."""
    rows = con.execute(
        "SELECT DISTINCT day_no FROM cls_impressions WHERE day_no IS NOT NULL"
        " UNION SELECT DISTINCT day_no FROM cls_playbacks WHERE day_no IS NOT NULL"
    ).fetchall()
    return sorted(day_of(int(r[0])) for r in rows)


def write_quarantined(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    """Write the quarantined rows of one raw table (contract columns and `reason`)."""
    cols = ", ".join(RAW_TABLES[table].names)
    con.execute(
        f"COPY (SELECT {cols}, reason FROM cls_{table} WHERE reason IS NOT NULL"
        f" AND reason <> '{rules.DUPLICATE}') TO {sql_string(str(path))} (FORMAT parquet)"
    )


__all__ = [
    "accounting",
    "classify",
    "classify_events",
    "conflicts",
    "new_days",
    "write_quarantined",
]
