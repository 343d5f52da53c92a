"""The quarantine and duplicate rules of the raw contract, as data and portable SQL.

Every rule is (table, reason code, SQL boolean that is TRUE for a row to quarantine) in a
subset of SQL that DuckDB and Spark SQL both evaluate (CASE, IS NULL, IN, BETWEEN, length,
substr, LEFT JOIN, ROW_NUMBER). Rules of a table are tried in order; a row gets the reason
of the first rule it breaks. Duplicates are ranked among valid rows only, so a valid copy
of an event always wins over an invalid one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from keyart.backends.duckdb.sql import sql_string
from keyart.etl.schemas import ASSET_TYPES, RAW_TABLES, TITLE_KINDS

DUPLICATE = "duplicate"  # a repeated event id: dropped and counted, not quarantined
DUPLICATE_KEY = "duplicate_key"  # a repeated dimension key: the later rows are quarantined

# Event tables: the nullable id whose repeats are duplicates. Dimension tables: the key.
EVENT_IDS: dict[str, str] = {"impressions": "impression_id", "playbacks": "playback_id"}
DIM_KEYS: dict[str, str] = {"titles": "title_id", "assets": "asset_id", "members": "member_id"}

# Where each dimension row came from, carried beside the contract columns: the raw file's
# path and the row's 0-based position in it (both engines read them from the Parquet scan).
SOURCE_FILE = "_src_file"
SOURCE_ROW = "_src_row"
SOURCE_COLUMNS = (SOURCE_FILE, SOURCE_ROW)

# Which copy of a repeated event id is kept: first by these columns (event_time first).
# A repeated dimension key keeps the last delivered row instead (see keep_order_sql).
_ORDER: dict[str, tuple[str, ...]] = {
    "impressions": ("event_time", "member_id", "asset_id", "country"),
    "playbacks": ("event_time", "member_id", "title_id", "asset_id", "duration_s"),
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One quarantine rule: rows of `table` for which `condition` is TRUE get `reason`."""

    table: str
    reason: str
    condition: str


@dataclass(frozen=True, slots=True)
class Reference:
    """A lookup a table's rules need: `column` must exist as `key` of the table `target`;
    the rules see the looked-up key as column `alias` (NULL when missing)."""

    column: str
    target: str
    key: str
    alias: str


def _any_null(*columns: str) -> str:
    return " OR ".join(f"{c} IS NULL" for c in columns)


def _not_country(column: str) -> str:
    # two upper-case ASCII letters; NULL is not a country either
    return (
        f"NOT ({column} IS NOT NULL AND length({column}) = 2"
        f" AND substr({column}, 1, 1) BETWEEN 'A' AND 'Z'"
        f" AND substr({column}, 2, 1) BETWEEN 'A' AND 'Z')"
    )


def _not_in(column: str, values: tuple[str, ...]) -> str:
    listed = ", ".join(sql_string(v) for v in values)
    return f"{column} NOT IN ({listed})"


REFERENCES: dict[str, tuple[Reference, ...]] = {
    "assets": (Reference("title_id", "titles", "title_id", "_ref_title_id"),),
    "impressions": (Reference("asset_id", "assets", "asset_id", "_ref_asset_id"),),
    "playbacks": (Reference("title_id", "titles", "title_id", "_ref_title_id"),),
}

RULES: tuple[Rule, ...] = (
    Rule("titles", "null_required", _any_null("title_id", "name", "kind")),
    Rule("titles", "bad_kind", _not_in("kind", TITLE_KINDS)),
    Rule("assets", "null_required", _any_null("asset_id", "title_id", "asset_type", "name")),
    Rule("assets", "bad_asset_type", _not_in("asset_type", ASSET_TYPES)),
    Rule("assets", "unknown_title", "_ref_title_id IS NULL"),
    Rule("members", "null_member", "member_id IS NULL"),
    Rule("members", "bad_country", _not_country("country")),
    Rule("impressions", "null_event_time", "event_time IS NULL"),
    Rule("impressions", "null_member", "member_id IS NULL"),
    Rule("impressions", "null_required", "asset_id IS NULL"),
    Rule("impressions", "bad_country", _not_country("country")),
    Rule("impressions", "unknown_asset", "_ref_asset_id IS NULL"),
    Rule("playbacks", "null_event_time", "event_time IS NULL"),
    Rule("playbacks", "null_member", "member_id IS NULL"),
    Rule("playbacks", "null_required", _any_null("title_id", "duration_s")),
    Rule("playbacks", "negative_duration", "duration_s < 0"),
    Rule("playbacks", "unknown_title", "_ref_title_id IS NULL"),
)


def rules_for(table: str) -> tuple[Rule, ...]:
    """The rules of one raw table, in the order they are tried."""
    return tuple(r for r in RULES if r.table == table)


def reasons_for(table: str) -> tuple[str, ...]:
    """Every reason a row of `table` can be quarantined for."""
    extra = (DUPLICATE_KEY,) if table in DIM_KEYS else ()
    return tuple(r.reason for r in rules_for(table)) + extra


def reason_sql(table: str) -> str:
    """A CASE expression giving the first broken rule's reason, NULL for a valid row."""
    whens = " ".join(f"WHEN {r.condition} THEN '{r.reason}'" for r in rules_for(table))
    return f"CASE {whens} ELSE CAST(NULL AS STRING) END" if whens else "CAST(NULL AS STRING)"


def columns(table: str) -> tuple[str, ...]:
    """The contract columns of a raw table, in contract order."""
    return tuple(RAW_TABLES[table].names)


def key_column(table: str) -> str:
    """The column whose repeats are duplicates: the event id or the dimension key."""
    return EVENT_IDS.get(table) or DIM_KEYS[table]


def duplicate_reason(table: str) -> str:
    """The reason a dropped repeat of `table` gets: DUPLICATE (events) or DUPLICATE_KEY."""
    return DUPLICATE if table in EVENT_IDS else DUPLICATE_KEY


def keep_order_sql(table: str) -> str:
    """ORDER BY items choosing the kept copy among valid rows sharing an id/key (first wins).

    Dimension keys: the last delivered row wins, i.e. the row of the raw file whose path
    sorts last, and of that file the last row, so that a later delivery (a later file, or
    a row appended to a file) corrects an earlier one. Events: the earliest copy."""
    if table in DIM_KEYS:
        return f"{SOURCE_FILE} DESC, {SOURCE_ROW} DESC"
    return ", ".join(f"{c} ASC NULLS LAST" for c in _ORDER[table])


def conflict_sql(table: str, relation: str, limit: int) -> str:
    """SQL giving the first `limit` dimension keys (in key order) of `relation` (classified
    rows with `reason`) whose valid rows disagree in content, each with the number of such
    keys in all (`n`): duplicates that are not mere repeats."""
    key = DIM_KEYS[table]
    content = ", ".join(columns(table))
    return (
        f"SELECT {key}, count(*) OVER () AS n FROM (SELECT DISTINCT {content} FROM {relation}"
        f" WHERE {key} IS NOT NULL AND (reason IS NULL OR reason = '{DUPLICATE_KEY}')) _d"
        f" GROUP BY {key} HAVING count(*) > 1 ORDER BY {key} LIMIT {int(limit)}"
    )


def classify_sql(table: str, source: str, references: Mapping[str, str]) -> str:
    """SQL selecting every row of `source` (the raw table, contract columns) with `reason`
    (NULL = kept; DUPLICATE = dropped event duplicate; anything else = quarantined) and
    `_rank` (1-based rank among valid rows sharing the id/key; with the id it identifies a
    kept row). `references` names the relation to use for each referenced table (the
    clean dimension tables)."""
    cols = columns(table)
    col_list = ", ".join(cols)
    joins = []
    for i, ref in enumerate(REFERENCES.get(table, ())):
        joins.append(
            f"LEFT JOIN (SELECT DISTINCT {ref.key} AS {ref.alias} FROM {references[ref.target]})"
            f" _r{i} ON _t.{ref.column} = _r{i}.{ref.alias}"
        )
    carried = cols + (SOURCE_COLUMNS if table in DIM_KEYS else ())
    checked = (
        f"SELECT {', '.join(f'_t.{c} AS {c}' for c in carried)}, {reason_sql(table)} AS _reason"
        f" FROM {source} _t {' '.join(joins)}"
    )
    key = key_column(table)
    order = keep_order_sql(table)
    # the id/key leads the partition: a sorting engine (Spark) compares rows by a prefix
    # of the first sort key, which the validity flag (the same on nearly every row) is not
    ranked = (
        f"SELECT {col_list}, _reason, ROW_NUMBER() OVER (PARTITION BY {key},"
        f" CASE WHEN _reason IS NULL THEN 0 ELSE 1 END ORDER BY {order}) AS _rank"
        f" FROM ({checked}) _c"
    )
    if table in EVENT_IDS:
        dup = f"WHEN {key} IS NOT NULL AND _rank > 1 THEN '{DUPLICATE}'"
    else:
        dup = f"WHEN _rank > 1 THEN '{DUPLICATE_KEY}'"
    return (
        f"SELECT {col_list}, CASE WHEN _reason IS NOT NULL THEN _reason {dup}"
        f" ELSE CAST(NULL AS STRING) END AS reason, _rank FROM ({ranked}) _k"
    )


__all__ = [
    "DIM_KEYS",
    "DUPLICATE",
    "DUPLICATE_KEY",
    "EVENT_IDS",
    "REFERENCES",
    "RULES",
    "SOURCE_COLUMNS",
    "SOURCE_FILE",
    "SOURCE_ROW",
    "Reference",
    "Rule",
    "classify_sql",
    "columns",
    "conflict_sql",
    "duplicate_reason",
    "keep_order_sql",
    "key_column",
    "reason_sql",
    "reasons_for",
    "rules_for",
]
