"""All-time tables per asset and per title on Spark, merged incrementally where possible.

Appending days never recomputes history: an asset's new all-time row is its parent row
merged with this run's events (counts added, sketches unioned with `hll_union_agg`,
countries/affinities unioned, first/last day widened). A replaced day cannot be
subtracted from a sketch, so every asset (and title) that had data on a replaced day is
recomputed from all daily rollups of the new version; so is everything when there is no
usable parent (first run, or an asset moved to another title). Both paths yield the same
sketch registers as the embedded engine's build over the distinct members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from keyart.warehouse.layout import Version
from keyart.warehouse.tables import (
    ALLTIME_ASSETS,
    ALLTIME_TITLES,
    ASSET_AFFINITY_DAY,
    ASSET_COUNTRY_DAY,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_EMPTY_LIST = "CAST(array() AS ARRAY<STRING>)"
_MEASURES = ("impressions", "qualified_plays", "play_seconds", "engaged_plays")


@dataclass(frozen=True, slots=True)
class AlltimePlan:
    """How this run's all-time tables are made: `mode` is "merge" (parent + new days),
    "partial" (merge, but assets with data on replaced days recomputed) or "recompute"."""

    mode: str
    replaced_days: tuple[date, ...]
    reason: str


def plan(parent: Version | None, new_days: list[date], moved_assets: int) -> AlltimePlan:
    """Choose between merging into the parent's all-time tables and recomputing."""
    if parent is None:
        return AlltimePlan("recompute", (), "no parent version")
    if not (parent.alltime_path("assets").exists() and parent.alltime_path("titles").exists()):
        return AlltimePlan("recompute", (), f"parent {parent.name} has no all-time tables")
    if moved_assets:
        return AlltimePlan("recompute", (), f"{moved_assets} assets moved to another title")
    replaced = tuple(sorted(set(new_days) & set(parent.days)))
    if set(parent.days) <= set(new_days):
        return AlltimePlan("recompute", replaced, "every parent day is replaced")
    if replaced:
        return AlltimePlan("partial", replaced, f"{len(replaced)} parent days replaced")
    return AlltimePlan("merge", (), "days appended")


def _files(version: Version, rollup: str, days: tuple[date, ...] | None = None) -> list[str]:
    folder = version.rollup_dir(rollup)
    if days is None:
        return sorted(str(p) for p in folder.glob("day=*/*.parquet"))
    return sorted(str(p) for d in days for p in (folder / f"day={d.isoformat()}").glob("*.parquet"))


class AlltimeBuilder:
    """Builds ALLTIME_ASSETS and ALLTIME_TITLES for a staged version."""

    def __init__(self, spark: SparkSession, lg_k: int) -> None:
        self.spark = spark
        self.lg_k = int(lg_k)
        self.daily_files_read = 0  # rollup day files of the new version read (0 on append)

    def _read(self, files: list[str], schema: pa.Schema, view: str) -> None:
        if files:
            frame = self.spark.read.parquet(*files)
        else:
            frame = self.spark.createDataFrame(schema.empty_table())
        frame.createOrReplaceTempView(view)

    def _recomputed(self, key: str, keys_view: str) -> str:
        """Rows for the keys in `keys_view`, from every daily rollup of the version."""
        k = key
        return f"""
        SELECT m.k, m.impressions, m.qualified_plays, m.play_seconds, m.engaged_plays,
            m.imp_sketch, m.play_sketch, m.countries,
            coalesce(a.affinities, {_EMPTY_LIST}) AS affinities, m.first_day, m.last_day
        FROM (
            SELECT d.{k} AS k, sum(impressions) AS impressions,
                sum(qualified_plays) AS qualified_plays, sum(play_seconds) AS play_seconds,
                sum(engaged_plays) AS engaged_plays,
                hll_union_agg(imp_sketch) AS imp_sketch,
                hll_union_agg(play_sketch) AS play_sketch,
                array_sort(collect_set(CASE WHEN impressions > 0 THEN country END))
                    AS countries,
                min(day) AS first_day, max(day) AS last_day
            FROM daily_country d JOIN {keys_view} r ON r.k = d.{k}
            GROUP BY d.{k}
        ) m LEFT JOIN (
            SELECT d.{k} AS k, array_sort(collect_set(affinity)) AS affinities
            FROM daily_affinity d JOIN {keys_view} r ON r.k = d.{k}
            WHERE affinity IS NOT NULL GROUP BY d.{k}
        ) a ON a.k = m.k
        """

    def _delta(self, key: str) -> str:
        """This run's contribution per key, from the clean attributed events."""
        k = int(self.lg_k)
        return f"""
        SELECT {key} AS k, count_if(is_imp) AS impressions,
            count_if(NOT is_imp) AS qualified_plays,
            coalesce(sum(CASE WHEN NOT is_imp THEN duration_s END), 0) AS play_seconds,
            count_if(NOT is_imp AND engaged) AS engaged_plays,
            hll_sketch_agg(CASE WHEN is_imp THEN member_id END, {k}) AS imp_sketch,
            hll_sketch_agg(CASE WHEN NOT is_imp THEN member_id END, {k}) AS play_sketch,
            array_sort(collect_set(CASE WHEN is_imp THEN country END)) AS countries,
            array_sort(array_distinct(flatten(collect_list(affinities)))) AS affinities,
            min(day) AS first_day, max(day) AS last_day
        FROM run_facts GROUP BY {key}
        """

    def _merged(self, key: str, parent_view: str, keys_view: str) -> str:
        """Parent rows of keys not in `keys_view`, merged with this run's delta."""
        cols = (
            "k, impressions, qualified_plays, play_seconds, engaged_plays, imp_sketch,"
            " play_sketch, countries, affinities, first_day, last_day"
        )
        return f"""
        SELECT k, sum(impressions) AS impressions, sum(qualified_plays) AS qualified_plays,
            sum(play_seconds) AS play_seconds, sum(engaged_plays) AS engaged_plays,
            hll_union_agg(CASE WHEN impressions > 0 THEN imp_sketch END) AS imp_sketch,
            hll_union_agg(CASE WHEN qualified_plays > 0 THEN play_sketch END) AS play_sketch,
            array_sort(array_distinct(flatten(collect_list(countries)))) AS countries,
            array_sort(array_distinct(flatten(collect_list(affinities)))) AS affinities,
            min(first_day) AS first_day, max(last_day) AS last_day
        FROM (
            SELECT {key} AS k, impressions, qualified_plays, play_seconds, engaged_plays,
                imp_sketch, play_sketch, countries, affinities, first_day, last_day
            FROM {parent_view}
            UNION ALL SELECT {cols} FROM ({self._delta(key)}) _d
        ) _u
        WHERE k NOT IN (SELECT k FROM {keys_view})
        GROUP BY k
        """

    def build(
        self,
        version: Version,
        parent: Version | None,
        how: AlltimePlan,
        facts_sql: str,
    ) -> tuple[DataFrame, DataFrame]:
        """The all-time DataFrames (assets, titles) of `version`, whose rollups, events and
        `dim_assets` view are ready; `facts_sql` stacks this run's impressions and plays."""
        spark = self.spark
        spark.sql(facts_sql).createOrReplaceTempView("run_facts")
        if how.mode == "recompute":
            spark.sql("SELECT asset_id AS k FROM dim_assets").createOrReplaceTempView(
                "redo_asset_id"
            )
            spark.sql("SELECT DISTINCT title_id AS k FROM dim_assets").createOrReplaceTempView(
                "redo_title_id"
            )
        else:
            assert parent is not None
            self._read(
                _files(parent, ASSET_COUNTRY_DAY.name, how.replaced_days),
                ASSET_COUNTRY_DAY.schema,
                "replaced_country",
            )
            spark.sql(
                "SELECT DISTINCT asset_id AS k FROM replaced_country"
            ).createOrReplaceTempView("redo_asset_id")
            spark.sql(
                "SELECT DISTINCT title_id AS k FROM replaced_country"
            ).createOrReplaceTempView("redo_title_id")
            for name, schema in (("assets", ALLTIME_ASSETS), ("titles", ALLTIME_TITLES)):
                spark.createDataFrame(
                    pq.read_table(parent.alltime_path(name)).cast(schema)
                ).createOrReplaceTempView(f"parent_alltime_{name}")
        # the dailies are read only when something must be recomputed (never on append)
        if how.mode == "merge":
            self._read([], ASSET_COUNTRY_DAY.schema, "daily_country")
            self._read([], ASSET_AFFINITY_DAY.schema, "daily_affinity")
        else:
            country = _files(version, ASSET_COUNTRY_DAY.name)
            affinity = _files(version, ASSET_AFFINITY_DAY.name)
            self.daily_files_read = len(country) + len(affinity)
            self._read(country, ASSET_COUNTRY_DAY.schema, "daily_country")
            self._read(affinity, ASSET_AFFINITY_DAY.schema, "daily_affinity")
        out = []
        for key, name in (("asset_id", "assets"), ("title_id", "titles")):
            parts = [self._recomputed(key, f"redo_{key}")]
            if how.mode != "recompute":
                parts.append(self._merged(key, f"parent_alltime_{name}", f"redo_{key}"))
            spark.sql(
                " UNION ALL ".join(f"SELECT * FROM ({p}) _p" for p in parts)
            ).createOrReplaceTempView(f"alltime_{key}")
            if key == "asset_id":
                dims = "SELECT asset_id, title_id FROM dim_assets"
                select_keys = "d.asset_id, d.title_id"
            else:
                dims = "SELECT DISTINCT title_id FROM dim_assets"
                select_keys = "d.title_id"
            out.append(
                spark.sql(
                    f"""
                    SELECT {select_keys},
                        CAST(coalesce(a.impressions, 0) AS BIGINT) AS impressions,
                        CAST(coalesce(a.qualified_plays, 0) AS BIGINT) AS qualified_plays,
                        CAST(coalesce(a.play_seconds, 0) AS BIGINT) AS play_seconds,
                        CAST(coalesce(a.engaged_plays, 0) AS BIGINT) AS engaged_plays,
                        CASE WHEN a.impressions > 0 THEN a.imp_sketch END AS imp_sketch,
                        CASE WHEN a.qualified_plays > 0 THEN a.play_sketch END AS play_sketch,
                        coalesce(a.countries, {_EMPTY_LIST}) AS countries,
                        coalesce(a.affinities, {_EMPTY_LIST}) AS affinities,
                        a.first_day, a.last_day
                    FROM ({dims}) d LEFT JOIN alltime_{key} a ON a.k = d.{key}
                    ORDER BY d.{key}
                    """
                )
            )
        return out[0], out[1]


__all__ = ["AlltimeBuilder", "AlltimePlan", "plan"]
