"""The three daily rollups as Spark SQL with `hll_sketch_agg` (schemas: warehouse/tables.py).

Impressions and attributed plays are stacked into one fact stream and aggregated once per
rollup, so a group with only plays (or only impressions) needs no outer join; its absent
side gets a NULL sketch, as in the embedded engine. Affinities follow DESIGN §2: the
exploded rollup has one row per label (a member without labels keeps one row with a NULL
affinity), the audience rollup groups by the member's whole sorted label set.
"""

from __future__ import annotations

from keyart.warehouse.tables import (
    ASSET_AFFINITY_DAY,
    ASSET_AUDIENCE_DAY,
    ASSET_COUNTRY_DAY,
    Rollup,
)

KEY = ("day", "title_id", "asset_id", "asset_type", "country")
# the order of a rollup's rows within a day (after `day`)
ROLLUP_ORDER: dict[str, tuple[str, ...]] = {
    ASSET_COUNTRY_DAY.name: ("asset_id", "country"),
    ASSET_AFFINITY_DAY.name: ("asset_id", "country", "affinity"),
    ASSET_AUDIENCE_DAY.name: ("asset_id", "country", "affinities"),
}


def facts_sql(imps: str = "imp_events", plays: str = "play_events") -> str:
    """One row per impression or attributed play, with the columns every rollup and event
    table needs (an impression's duration_s is 0 and engaged false)."""
    return (
        "SELECT day, event_time, title_id, asset_id, asset_type, country, affinities,"
        " member_id, true AS is_imp, CAST(0 AS BIGINT) AS duration_s, false AS engaged"
        f" FROM {imps} UNION ALL SELECT day, event_time, title_id, asset_id, asset_type,"
        " country, affinities, member_id, false AS is_imp, duration_s, engaged"
        f" FROM {plays}"
    )


def _source(rollup: Rollup, facts: str) -> tuple[str, list[str]]:
    """The relation a rollup aggregates and its group key columns, in the order the rows
    are written (`ROLLUP_ORDER` within a day): the sort-based aggregation sorts by the
    group key, so its output needs no further sort; title and asset type, which follow
    from the asset, come last."""
    rest = [k for k in KEY if k not in ("day", "asset_id", "country")]
    if rollup.affinity == "exploded":
        # explode_outer: a member without labels keeps one row with affinity NULL
        return (
            f"(SELECT f.*, a.affinity FROM {facts} f"
            " LATERAL VIEW OUTER explode(f.affinities) a AS affinity)",
            ["day", *ROLLUP_ORDER[rollup.name], *rest],
        )
    return facts, ["day", *ROLLUP_ORDER[rollup.name], *rest]


def rollup_sql(rollup: Rollup, facts: str, lg_k: int) -> str:
    """Spark SQL computing one rollup's rows (sketches as Spark's HLL_8 blobs)."""
    source, keys = _source(rollup, facts)
    key_list = ", ".join(keys)
    k = int(lg_k)
    return f"""
    SELECT {key_list}, impressions, qualified_plays, play_seconds, engaged_plays,
        CASE WHEN impressions > 0 THEN imp_sketch END AS imp_sketch,
        CASE WHEN qualified_plays > 0 THEN play_sketch END AS play_sketch
    FROM (
        SELECT {key_list},
            count_if(is_imp) AS impressions,
            count_if(NOT is_imp) AS qualified_plays,
            CAST(coalesce(sum(CASE WHEN NOT is_imp THEN duration_s END), 0) AS BIGINT)
                AS play_seconds,
            count_if(NOT is_imp AND engaged) AS engaged_plays,
            hll_sketch_agg(CASE WHEN is_imp THEN member_id END, {k}) AS imp_sketch,
            hll_sketch_agg(CASE WHEN NOT is_imp THEN member_id END, {k}) AS play_sketch
        FROM {source} _s
        GROUP BY {key_list}
    ) _g
    """


__all__ = ["KEY", "ROLLUP_ORDER", "facts_sql", "rollup_sql"]
