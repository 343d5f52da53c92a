"""Which clean event tables answer a query: impressions for the impression metrics, plays
for the play metrics (the legacy backend reads only the tables a query needs)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from keyart.query.ir import Metric, MetricQuery
from keyart.warehouse.tables import EVENT_IMPRESSIONS, EVENT_PLAYS

# the metrics counted from the impressions table; every other one comes from plays
IMPRESSION_METRICS: frozenset[Metric] = frozenset({Metric.IMPRESSIONS, Metric.UNIQUE_IMPRESSIONS})
# event folder of a version -> (serving-copy table, schema)
EVENT_FOLDERS: dict[str, tuple[str, pa.Schema]] = {
    "impressions": ("events_impressions", EVENT_IMPRESSIONS),
    "plays": ("events_plays", EVENT_PLAYS),
}


@dataclass(frozen=True, slots=True)
class EventTables:
    """The event tables a query reads."""

    impressions: bool
    plays: bool


def event_tables(query: MetricQuery) -> EventTables:
    """The event tables holding the query's metrics."""
    return EventTables(
        impressions=any(m in IMPRESSION_METRICS for m in query.metrics),
        plays=any(m not in IMPRESSION_METRICS for m in query.metrics),
    )


__all__ = ["EVENT_FOLDERS", "IMPRESSION_METRICS", "EventTables", "event_tables"]
