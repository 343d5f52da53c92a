"""Compiles IR queries to exact DuckDB SQL over the warehouse's clean event tables.

Impressions come from `events/impressions`, qualified plays from `events/plays`; each side
is aggregated per group (COUNT, COUNT DISTINCT member_id, SUM) and the two are joined on
the group keys. Affinities keep Druid's multi-value semantics: grouping unnests the
member's labels (one group per label, only the listed ones when the filter lists some);
filters decide per member on its whole label set (any-of, all-of, none-of), counting each
event once.
"""

from __future__ import annotations

from dataclasses import dataclass

from keyart.backends.duckdb.clauses import (
    day_and_scalar_filters,
    key_columns,
    key_select,
    member_filters,
)
from keyart.backends.duckdb.sql import Params, Source, Sql
from keyart.query.ir import Dimension, Metric, MetricQuery

# the exact aggregate of each metric over its event table (legacy/plan.py says which)
IMPRESSION_AGGREGATES: dict[Metric, str] = {
    Metric.IMPRESSIONS: "COUNT(*)",
    Metric.UNIQUE_IMPRESSIONS: "COUNT(DISTINCT member_id)",
}
PLAY_AGGREGATES: dict[Metric, str] = {
    Metric.QUALIFIED_PLAYS: "COUNT(*)",
    Metric.UNIQUE_PLAYERS: "COUNT(DISTINCT member_id)",
    Metric.PLAY_SECONDS: "CAST(SUM(duration_s) AS BIGINT)",
    Metric.ENGAGED_PLAYS: "COUNT(*) FILTER (WHERE engaged)",
}


@dataclass(frozen=True, slots=True)
class EventSources:
    """Where the rows of both event tables come from (None: no rows in the window)."""

    impressions: Source | None
    plays: Source | None


def _duration(min_duration: int | None, params: Params) -> list[str]:
    return [] if min_duration is None else [f"duration_s >= {params.bind(min_duration)}"]


def _side(
    query: MetricQuery,
    aggregates: dict[Metric, str],
    source: Source,
    params: Params,
    min_duration: int | None = None,
) -> str:
    """One event table aggregated per group, with the requested metrics of that table."""
    metrics = [m for m in query.metrics if m in aggregates]
    select = key_select(query) + [f"{aggregates[m]} AS {m.value}" for m in metrics]
    labels = query.filter.affinities
    if Dimension.AFFINITY in query.group_by:
        # bind in text order: source, inner filters, then the outer label filter
        inner_from = source.bind(params)
        inner = [
            *day_and_scalar_filters(query, params),
            *_duration(min_duration, params),
            *member_filters(query.filter, "affinities", params),
        ]
        from_item = (
            "(SELECT *, unnest(list_distinct(affinities)) AS affinity "
            f"FROM {inner_from} WHERE {' AND '.join(inner)}) AS e"
        )
        where = [] if labels is None else [params.in_list("affinity", labels)]
    else:
        from_item = source.bind(params)
        where = [
            *day_and_scalar_filters(query, params),
            *_duration(min_duration, params),
            *member_filters(query.filter, "affinities", params),
        ]
    lines = [f"SELECT {', '.join(select)}", f"FROM {from_item}"]
    if where:
        lines.append("WHERE " + " AND ".join(where))
    if key_columns(query):
        lines.append("GROUP BY ALL")
    return "\n".join(lines)


def compile_events(
    query: MetricQuery, sources: EventSources, qualify_seconds: int | None = None
) -> Sql:
    """Exact SQL answering `query` from the event tables (callers check matches_nothing)."""
    params = Params()
    keys = key_columns(query)
    ctes: list[str] = []
    sides: list[str] = []
    wanted_imp = any(m in IMPRESSION_AGGREGATES for m in query.metrics)
    wanted_play = any(m in PLAY_AGGREGATES for m in query.metrics)
    if wanted_imp and sources.impressions is not None:
        side = _side(query, IMPRESSION_AGGREGATES, sources.impressions, params)
        ctes.append(f"imp AS (\n{side}\n)")
        sides.append("imp")
    if wanted_play and sources.plays is not None:
        # the event table should hold qualified plays only; the guard keeps that definition
        side = _side(query, PLAY_AGGREGATES, sources.plays, params, qualify_seconds)
        ctes.append(f"ply AS (\n{side}\n)")
        sides.append("ply")
    if not sides:
        raise ValueError("compile_events needs an event source for a requested metric")
    present = {m for m in query.metrics if m in (IMPRESSION_AGGREGATES if "imp" in sides else {})}
    present |= {m for m in query.metrics if m in (PLAY_AGGREGATES if "ply" in sides else {})}
    columns = keys + [
        m.value if m in present else f"CAST(NULL AS BIGINT) AS {m.value}" for m in query.metrics
    ]
    if len(sides) == 1:
        source = sides[0]
    elif keys:
        source = f"imp FULL OUTER JOIN ply USING ({', '.join(keys)})"
    else:
        source = "imp CROSS JOIN ply"
    lines = [
        "WITH " + ",\n".join(ctes),
        f"SELECT {', '.join(columns)}",
        f"FROM {source}",
    ]
    if keys:
        lines.append("ORDER BY " + ", ".join(keys))
    return Sql("\n".join(lines), tuple(params.values))


__all__ = ["IMPRESSION_AGGREGATES", "PLAY_AGGREGATES", "EventSources", "compile_events"]
