"""All-time tables per asset and per title on Spark, merged incrementally where possible.

Appending days never recomputes history: an asset's new all-time row is its parent row
merged with this run's events (counts added, sketches unioned with `hll_union_agg`,
countries/affinities unioned, first/last day widened). A replaced day cannot be
subtracted from a sketch, so every asset that had data on a replaced day is recomputed
from all daily rollups of the new version; so is everything when there is no usable
parent (an asset moved to another title, a parent without all-time tables). When no day of
the parent survives (a first run, or every day re-ingested), the version holds only this
run's events, and every asset is built from them directly, without reading back the
rollups just written. A title's row is then the union of its assets' rows (each asset
belongs to one title). All paths yield the same sketch registers as the embedded engine's
build over the distinct members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from keyart.backends.duckdb.sql import sql_string
from keyart.etl.embedded import duck
from keyart.etl.embedded.alltime import write_alltime
from keyart.etl.embedded.dimensions import number_dimensions
from keyart.warehouse.layout import Version
from keyart.warehouse.tables import (
    ALLTIME_ASSETS,
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
    "partial" (merge, but assets with data on replaced days recomputed) or "recompute"
    (from this run's events alone when `events_only`, else from the daily rollups)."""

    mode: str
    replaced_days: tuple[date, ...]
    reason: str
    events_only: bool = False


def plan(parent: Version | None, new_days: list[date], moved_assets: int) -> AlltimePlan:
    """Choose between merging into the parent's all-time tables and recomputing."""
    if parent is None:
        return AlltimePlan("recompute", (), "no parent version", events_only=True)
    replaced = tuple(sorted(set(new_days) & set(parent.days)))
    events_only = set(parent.days) <= set(new_days)  # no parent day is kept
    if events_only:
        return AlltimePlan("recompute", replaced, "every parent day is replaced", True)
    if not (parent.alltime_path("assets").exists() and parent.alltime_path("titles").exists()):
        return AlltimePlan("recompute", (), f"parent {parent.name} has no all-time tables")
    if moved_assets:
        return AlltimePlan("recompute", (), f"{moved_assets} assets moved to another title")
    if replaced:
        return AlltimePlan("partial", replaced, f"{len(replaced)} parent days replaced")
    return AlltimePlan("merge", (), "days appended")


def _files(version: Version, rollup: str, days: tuple[date, ...] | None = None) -> list[str]:
    folder = version.rollup_dir(rollup)
    if days is None:
        return sorted(str(p) for p in folder.glob("day=*/*.parquet"))
    return sorted(str(p) for d in days for p in (folder / f"day={d.isoformat()}").glob("*.parquet"))


class AlltimeBuilder:
    """Builds the ALLTIME_ASSETS and ALLTIME_TITLES rows of a staged version."""

    def __init__(self, spark: SparkSession, lg_k: int, facts: str = "facts") -> None:
        self.spark = spark
        self.lg_k = int(lg_k)
        self.facts = facts  # the view stacking this run's impressions and attributed plays
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
        """This run's contribution per key, from the clean attributed events (distributed by
        the key first: each key's sketch is then built in one task, in event order, with no
        partial sketches to serialise and merge)."""
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
        FROM (SELECT * FROM {self.facts} DISTRIBUTE BY {key}) _f GROUP BY {key}
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

    def _sources(self, version: Version, parent: Version | None, how: AlltimePlan) -> None:
        """The views the recomputing and merging paths read: the assets to recompute
        (redo_asset_id), the parent's all-time assets and the dailies."""
        spark = self.spark
        if how.mode == "recompute":
            spark.sql("SELECT asset_id AS k FROM dim_assets").createOrReplaceTempView(
                "redo_asset_id"
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
            spark.createDataFrame(
                pq.read_table(parent.alltime_path("assets")).cast(ALLTIME_ASSETS)
            ).createOrReplaceTempView("parent_alltime_assets")
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

    def assets(self, version: Version, parent: Version | None, how: AlltimePlan) -> DataFrame:
        """The ALLTIME_ASSETS rows of `version` (in no particular order), whose rollups,
        events and `dim_assets` and facts views are ready."""
        if how.events_only:
            body = self._delta("asset_id")
        else:
            self._sources(version, parent, how)
            parts = [self._recomputed("asset_id", "redo_asset_id")]
            if how.mode != "recompute":
                parts.append(self._merged("asset_id", "parent_alltime_assets", "redo_asset_id"))
            body = " UNION ALL ".join(f"SELECT * FROM ({p}) _p" for p in parts)
        self.spark.sql(body).createOrReplaceTempView("alltime_asset_id")
        return self.spark.sql(
            f"""
            SELECT d.asset_id, d.title_id,
                CAST(coalesce(a.impressions, 0) AS BIGINT) AS impressions,
                CAST(coalesce(a.qualified_plays, 0) AS BIGINT) AS qualified_plays,
                CAST(coalesce(a.play_seconds, 0) AS BIGINT) AS play_seconds,
                CAST(coalesce(a.engaged_plays, 0) AS BIGINT) AS engaged_plays,
                CASE WHEN a.impressions > 0 THEN a.imp_sketch END AS imp_sketch,
                CASE WHEN a.qualified_plays > 0 THEN a.play_sketch END AS play_sketch,
                coalesce(a.countries, {_EMPTY_LIST}) AS countries,
                coalesce(a.affinities, {_EMPTY_LIST}) AS affinities,
                a.first_day, a.last_day
            FROM dim_assets d LEFT JOIN alltime_asset_id a ON a.k = d.asset_id
            """
        )

    def titles(self, assets: pa.Table) -> DataFrame:
        """The ALLTIME_TITLES rows (in no particular order) from the version's all-time
        asset rows: a title's counts are its assets' sums, its sketches their union (the
        same registers as a sketch of all its members), its countries, affinities and
        days their union."""
        self.spark.createDataFrame(assets).createOrReplaceTempView("alltime_asset_rows")
        return self.spark.sql(
            """
            SELECT title_id, sum(impressions) AS impressions,
                sum(qualified_plays) AS qualified_plays, sum(play_seconds) AS play_seconds,
                sum(engaged_plays) AS engaged_plays,
                CASE WHEN sum(impressions) > 0 THEN hll_union_agg(imp_sketch) END
                    AS imp_sketch,
                CASE WHEN sum(qualified_plays) > 0 THEN hll_union_agg(play_sketch) END
                    AS play_sketch,
                array_sort(array_distinct(flatten(collect_list(countries)))) AS countries,
                array_sort(array_distinct(flatten(collect_list(affinities)))) AS affinities,
                min(first_day) AS first_day, max(last_day) AS last_day
            FROM alltime_asset_rows GROUP BY title_id
            """
        )


def write_version_alltime(view: Version, days: list[date], lg_k: int, spill: Path) -> None:
    """Write the all-time tables of a staged version whose days (rollups and event tables,
    this run's and the parent's kept ones) and dimensions are all written, on this machine
    with the embedded engine's builder: counts, countries, affinities and days from the
    rollups, sketches from the distinct (asset or title, member) pairs of the event tables
    — byte-identical to the embedded engine's tables. For local masters, whose day tasks
    wrote those files on this machine; it reads every day of the version (as the embedded
    engine does), so a replaced day needs no special case."""
    con = duck.connect()
    try:
        duck.spill_to(con, spill)
        number_dimensions(
            con,
            f"read_parquet({sql_string(str(view.dim_path('titles')))})",
            f"read_parquet({sql_string(str(view.dim_path('assets')))})",
        )
        # every event is read back from the version's files: no in-memory events
        for relation in ("imp", "play"):
            con.execute(f"CREATE TABLE {relation} (asset_no INTEGER, member_id BIGINT)")
        write_alltime(con, lg_k, None, view, sorted(days), view)
    finally:
        con.close()


__all__ = ["AlltimeBuilder", "AlltimePlan", "plan", "write_version_alltime"]
