"""Names and Arrow schemas of every warehouse table; the contract between the ETL engines
(embedded, Spark), the backends (embedded, Druid ingestion) and the snapshot producer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pyarrow as pa

from keyart.query.ir import Dimension, Metric

# The measure column of every rollup (and all-time table) that answers each IR metric:
# counts are summed, sketch columns (compact HLL_4 sketches of int64 member ids; null when
# the row has no such member) are united. Every backend, the snapshot producer and the
# result codec derive their metric handling from this one mapping.
MEASURE_OF: Mapping[Metric, str] = MappingProxyType(
    {
        Metric.IMPRESSIONS: "impressions",
        Metric.UNIQUE_IMPRESSIONS: "imp_sketch",
        Metric.QUALIFIED_PLAYS: "qualified_plays",
        Metric.UNIQUE_PLAYERS: "play_sketch",
        Metric.PLAY_SECONDS: "play_seconds",
        Metric.ENGAGED_PLAYS: "engaged_plays",
    }
)
# the additive count columns and the sketch columns, in metric order
COUNT_MEASURES: tuple[str, ...] = tuple(c for m, c in MEASURE_OF.items() if not m.is_sketch)
SKETCH_MEASURES: tuple[str, ...] = tuple(c for m, c in MEASURE_OF.items() if m.is_sketch)

MEASURES = pa.schema(
    [(c, pa.int64()) for c in COUNT_MEASURES] + [(c, pa.binary()) for c in SKETCH_MEASURES]
)

_KEY = [
    ("day", pa.date32()),
    ("title_id", pa.string()),
    ("asset_id", pa.string()),
    ("asset_type", pa.string()),
    ("country", pa.string()),
]


@dataclass(frozen=True, slots=True)
class Rollup:
    """A daily rollup table: its name, the dimensions it keeps and its Arrow schema.

    `affinity` is how the table holds audience affinities: None (dropped), "exploded"
    (one row per label, column `affinity`) or "multi" (the member's label set, column
    `affinities`, with Druid multi-value semantics).
    """

    name: str
    affinity: str | None
    schema: pa.Schema

    @property
    def dimensions(self) -> frozenset[Dimension]:
        """The dimensions this rollup can filter and group by."""
        dims = {Dimension.TITLE, Dimension.ASSET, Dimension.ASSET_TYPE, Dimension.COUNTRY}
        if self.affinity is not None:
            dims.add(Dimension.AFFINITY)
        return frozenset(dims)


ASSET_COUNTRY_DAY = Rollup("asset_country_day", None, pa.schema([*_KEY, *MEASURES]))
ASSET_AFFINITY_DAY = Rollup(
    "asset_affinity_day", "exploded", pa.schema([*_KEY, ("affinity", pa.string()), *MEASURES])
)
ASSET_AUDIENCE_DAY = Rollup(
    "asset_audience_day",
    "multi",
    pa.schema([*_KEY, ("affinities", pa.list_(pa.string())), *MEASURES]),
)

# smallest first: a backend picks the first rollup that can answer a query
ROLLUPS: tuple[Rollup, ...] = (ASSET_COUNTRY_DAY, ASSET_AFFINITY_DAY, ASSET_AUDIENCE_DAY)

TITLES = pa.schema(
    [
        ("title_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("genres", pa.list_(pa.string())),
        ("launch_date", pa.date32()),
    ]
)
ASSETS = pa.schema(
    [
        ("asset_id", pa.string()),
        ("title_id", pa.string()),
        ("asset_type", pa.string()),
        ("name", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("media_url", pa.string()),
    ]
)

# All-time aggregates per asset / per title, merged from the daily rollups; the snapshot
# producer publishes these. `countries` = distinct countries with impressions (availability);
# `affinities` = labels seen in the data (filter options).
_ALLTIME = [
    *MEASURES,
    ("countries", pa.list_(pa.string())),
    ("affinities", pa.list_(pa.string())),
    ("first_day", pa.date32()),
    ("last_day", pa.date32()),
]
ALLTIME_ASSETS = pa.schema([("asset_id", pa.string()), ("title_id", pa.string()), *_ALLTIME])
ALLTIME_TITLES = pa.schema([("title_id", pa.string()), *_ALLTIME])

# Clean, attributed event-level tables, partitioned by day; the legacy (exact) path reads them.
EVENT_IMPRESSIONS = pa.schema(
    [
        ("day", pa.date32()),
        ("event_time", pa.timestamp("us", tz="UTC")),
        ("member_id", pa.int64()),
        ("title_id", pa.string()),
        ("asset_id", pa.string()),
        ("asset_type", pa.string()),
        ("country", pa.string()),
        ("affinities", pa.list_(pa.string())),
    ]
)
EVENT_PLAYS = pa.schema(
    [
        ("day", pa.date32()),
        ("event_time", pa.timestamp("us", tz="UTC")),
        ("member_id", pa.int64()),
        ("title_id", pa.string()),
        ("asset_id", pa.string()),
        ("asset_type", pa.string()),
        ("country", pa.string()),
        ("affinities", pa.list_(pa.string())),
        ("duration_s", pa.int64()),
        ("engaged", pa.bool_()),
    ]
)
