"""The classification of the raw event tables on Spark, ranking only ids that repeat.

`keyart.etl.rules.classify_sql` ranks every row with a ROW_NUMBER window over its id: on
Spark that is a shuffle and a sort of every raw row with all its columns. Almost every id
occurs once, and a row alone in its (valid?, id) group has rank 1 whatever the order, so
this plan first finds the groups with more than one row (an aggregation shuffling only a
64-bit hash of each id), broadcasts them, ranks with the same window only the rows of
those groups, and gives every other row rank 1. The rules, the ranking order and the
result are the shared SQL's (`checked_sql`, `keep_order_sql`): the same reason and
`_rank` for every row.
"""

from __future__ import annotations

from collections.abc import Mapping

from keyart.etl.rules import (
    DUPLICATE,
    EVENT_IDS,
    checked_sql,
    classify_sql,
    columns,
    keep_order_sql,
    key_column,
)

_VALID = "CASE WHEN _reason IS NULL THEN 0 ELSE 1 END"


def event_classify_sql(table: str, source: str, references: Mapping[str, str]) -> str:
    """Spark SQL with the rows and columns of `classify_sql(table, source, references)`
    (every row of `source` with `reason` and `_rank`); for an event table the window runs
    only over ids that occur more than once among valid (or among invalid) rows."""
    if table not in EVENT_IDS:
        return classify_sql(table, source, references)
    cols = ", ".join(columns(table))
    key = key_column(table)
    ranked = f"ROW_NUMBER() OVER (PARTITION BY {_VALID}, {key} ORDER BY {keep_order_sql(table)})"
    # ids are compared by a 64-bit hash (a NULL id hashes to one value, as NULLs form one
    # window partition): a collision only sends more rows through the exact window
    return f"""
    WITH _c AS ({checked_sql(table, source, references)}),
    _rep AS (
        SELECT {_VALID} AS _v, xxhash64({key}) AS _h FROM _c GROUP BY 1, 2 HAVING count(*) > 1
    ),
    _m AS (
        SELECT /*+ BROADCAST(_rep) */ _c.*, _rep._v IS NOT NULL AS _many
        FROM _c LEFT JOIN _rep ON _rep._v = {_VALID.replace("_reason", "_c._reason")}
            AND _rep._h = xxhash64(_c.{key})
    ),
    _k AS (
        SELECT {cols}, _reason, 1 AS _rank FROM _m WHERE NOT _many
        UNION ALL
        SELECT {cols}, _reason, {ranked} AS _rank FROM _m WHERE _many
    )
    SELECT {cols}, CASE WHEN _reason IS NOT NULL THEN _reason
        WHEN {key} IS NOT NULL AND _rank > 1 THEN '{DUPLICATE}'
        ELSE CAST(NULL AS STRING) END AS reason, _rank
    FROM _k
    """


__all__ = ["event_classify_sql"]
