"""Validation, quarantine, dedupe and attribution on Spark, with the shared portable SQL.

The quarantine and duplicate rules (`keyart.etl.rules.classify_sql`) and the attribution
(`keyart.etl.attribution.attribution_sql`) are the very SQL text the embedded engine runs
on DuckDB; here Spark SQL evaluates it over temp views, so both engines keep and drop the
same rows for the same reasons. Only the glue (dimension merging, joins) is Spark's own.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from keyart.config import EtlSettings
from keyart.etl.attribution import attribution_sql
from keyart.etl.rules import DIM_KEYS, DUPLICATE, EVENT_IDS, classify_sql, conflict_sql
from keyart.etl.runs import CONFLICT_EXAMPLES, Accounting, Conflicts, lookback_files
from keyart.etl.schemas import RAW_TABLES
from keyart.etl.spark.days import narrow_facts_sql
from keyart.etl.spark.rollups import facts_sql
from keyart.warehouse.layout import Version
from keyart.warehouse.tables import ASSETS, TITLES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_EMPTY_LIST = "CAST(array() AS ARRAY<STRING>)"
# The dimension columns as the warehouse keeps them (NULL lists become empty lists).
DIM_COLUMNS: dict[str, str] = {
    "titles": f"title_id, name, kind, coalesce(genres, {_EMPTY_LIST}) AS genres, launch_date",
    "assets": (
        f"asset_id, title_id, asset_type, name, coalesce(tags, {_EMPTY_LIST}) AS tags, media_url"
    ),
}
DIM_SCHEMAS = {"titles": TITLES, "assets": ASSETS}


class Cleaner:
    """Builds the clean views of one run over the `raw_<table>` views of `load_raw`.

    Views created: cls_<table> (classified raw rows), dim_titles, dim_assets (this run's
    clean dimensions over the parent's), profiles (member_id, labels), imp_clean,
    play_clean, attr_pairs, attr_imps, play_attr (one row per qualified play), play_facts
    (attributed), imp_events, play_events and facts (see `facts`).
    """

    def __init__(self, spark: SparkSession, settings: EtlSettings, parent: Version | None) -> None:
        self.spark = spark
        self.settings = settings
        self.parent = parent
        self._views: list[str] = []
        self._cached: list[DataFrame] = []
        # kept impressions per day, when `accounting` counted the impressions table
        self._volumes: dict[date, int] | None = None

    def sql(self, text: str) -> DataFrame:
        """Run Spark SQL."""
        return self.spark.sql(text)

    def _view(self, name: str, source: str | DataFrame, cache: bool = False) -> DataFrame:
        frame = self.sql(source) if isinstance(source, str) else source
        if cache:
            frame = frame.cache()
            self._cached.append(frame)
        frame.createOrReplaceTempView(name)
        self._views.append(name)
        return frame

    def release(self) -> None:
        """Unpersist this run's cached frames and drop its views (the session may be shared
        with other work, so nothing else is touched)."""
        for frame in self._cached:
            frame.unpersist()
        for name in self._views:
            self.spark.catalog.dropTempView(name)
        self._cached.clear()
        self._views.clear()

    def dims(self) -> None:
        """Classify the dimension tables; clean titles and assets replace the parent's rows
        of the same key, the parent's other rows stay."""
        for name, refs in (("titles", {}), ("assets", {"titles": "dim_titles"})):
            self._view(f"cls_{name}", classify_sql(name, f"raw_{name}", refs), cache=True)
            key, columns = DIM_KEYS[name], DIM_COLUMNS[name]
            text = f"SELECT {columns} FROM cls_{name} WHERE reason IS NULL"
            if self.parent is not None and self.parent.dim_path(name).exists():
                old = self.spark.createDataFrame(
                    pq.read_table(self.parent.dim_path(name)).cast(DIM_SCHEMAS[name])
                )
                old.createOrReplaceTempView(f"parent_{name}")
                text += (
                    f" UNION ALL SELECT {columns} FROM parent_{name} WHERE {key} NOT IN"
                    f" (SELECT {key} FROM cls_{name} WHERE reason IS NULL AND {key} IS NOT NULL)"
                )
            self._view(f"dim_{name}", text, cache=True)
        self._view("cls_members", classify_sql("members", "raw_members", {}), cache=True)
        # a member's label set: distinct, sorted, without NULLs (as the embedded engine)
        self._view(
            "profiles",
            "SELECT member_id, array_sort(array_distinct(filter("
            f"coalesce(affinities, {_EMPTY_LIST}), x -> x IS NOT NULL))) AS labels"
            " FROM cls_members WHERE reason IS NULL",
            cache=True,
        )

    def events(self) -> None:
        """Classify the event tables against the clean dimensions."""
        # the cached rows keep only what later steps read: a kept impression's id is read
        # by nothing (quarantined rows keep theirs for the quarantine file), nor is _rank
        columns = ", ".join(
            c if c != "impression_id" else f"CASE WHEN reason IS NOT NULL THEN {c} END AS {c}"
            for c in RAW_TABLES["impressions"].names
        )
        self._view(
            "cls_impressions",
            f"SELECT {columns}, reason FROM ("
            + classify_sql("impressions", "raw_impressions", {"assets": "dim_assets"})
            + ") _c",
            cache=True,
        )
        self._view(
            "cls_playbacks",
            classify_sql("playbacks", "raw_playbacks", {"titles": "dim_titles"}),
            cache=True,
        )
        self._view(
            "imp_clean",
            "SELECT i.event_time, i.member_id, i.asset_id, a.title_id, a.asset_type, i.country"
            " FROM cls_impressions i JOIN dim_assets a ON a.asset_id = i.asset_id"
            " WHERE i.reason IS NULL",
        )
        self._view(
            "play_clean",
            "SELECT playback_id, _rank, event_time, member_id, title_id, asset_id, duration_s"
            " FROM cls_playbacks WHERE reason IS NULL",
        )

    def accounting(self, tables: list[str]) -> tuple[Accounting, list[date]]:
        """Rows kept, quarantined by reason and dropped as duplicates, per raw table, and
        every UTC day any raw event falls on (the days this run rebuilds), in one job."""
        union = " UNION ALL ".join(
            f"SELECT '{name}' AS tbl, reason,"
            + (" CAST(event_time AS DATE)" if name in EVENT_IDS else " CAST(NULL AS DATE)")
            + f" AS day, count(*) AS n FROM cls_{name} GROUP BY 2, 3"
            for name in tables
        )
        counts: dict[str, dict[str | None, int]] = {name: {} for name in tables}
        days: set[date] = set()
        volumes: dict[date, int] = {}
        for row in self.sql(union).collect():
            by_reason = counts[row["tbl"]]
            by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + int(row["n"])
            if row["day"] is not None:
                days.add(row["day"])
                if row["tbl"] == "impressions" and row["reason"] is None:
                    volumes[row["day"]] = int(row["n"])
        if "impressions" in tables:
            self._volumes = volumes
        kept: dict[str, int] = {}
        quarantined: dict[str, dict[str, int]] = {}
        duplicates: dict[str, int] = {}
        for name in tables:
            by_reason = counts[name]
            kept[name] = by_reason.pop(None, 0)
            if name in EVENT_IDS:
                duplicates[name] = by_reason.pop(DUPLICATE, 0)
            quarantined[name] = {str(k): v for k, v in sorted(by_reason.items())}
        return Accounting(kept, quarantined, duplicates, self.conflicts()), sorted(days)

    def quarantine_rows(self, table: str) -> DataFrame:
        """The quarantined rows of one raw table: contract columns plus `reason`."""
        cols = ", ".join(RAW_TABLES[table].names)
        return self.sql(
            f"SELECT {cols}, reason FROM cls_{table}"
            f" WHERE reason IS NOT NULL AND reason <> '{DUPLICATE}'"
        )

    def attribute(self, new_days: list[date]) -> tuple[int, int]:
        """Attribute qualified plays (shared SQL); returns (qualified, attributed)."""
        # only impressions of a (member, title) with a qualified play can be picked: the
        # others are dropped before the attribution's join (as in the embedded engine)
        self._view(
            "attr_pairs",
            "SELECT DISTINCT member_id, title_id FROM play_clean"
            f" WHERE duration_s >= {int(self.settings.qualify_seconds)}",
        )
        wanted = "LEFT SEMI JOIN attr_pairs _q ON _q.member_id = i.member_id AND _q.title_id ="
        text = (
            "SELECT i.member_id, i.title_id, i.asset_id, i.country, i.event_time"
            f" FROM imp_clean i {wanted} i.title_id"
        )
        lookback = lookback_files(self.parent, self.settings, new_days)
        if lookback:
            self.spark.read.parquet(*(str(p) for p in lookback)).createOrReplaceTempView(
                "parent_imps"
            )
            text += (
                " UNION ALL SELECT i.member_id, i.title_id, i.asset_id, i.country,"
                f" CAST(i.event_time AS TIMESTAMP) AS event_time FROM parent_imps i {wanted}"
                " i.title_id"
            )
        self._view("attr_imps", text)
        self._view(
            "play_attr",
            attribution_sql(
                "play_clean",
                "attr_imps",
                self.settings,
                play_columns=("member_id", "title_id", "asset_id", "event_time", "duration_s"),
            ),
            cache=True,
        )
        engaged = int(self.settings.engaged_seconds)
        self._view(
            "play_facts",
            "SELECT p.event_time, p.member_id, a.title_id, p.attr_asset_id AS asset_id,"
            " a.asset_type, p.attr_country AS country, p.duration_s,"
            f" p.duration_s >= {engaged} AS engaged"
            " FROM play_attr p JOIN dim_assets a ON a.asset_id = p.attr_asset_id",
        )
        row = self.sql(
            "SELECT (SELECT count(*) FROM play_attr) AS q, (SELECT count(*) FROM play_facts) AS a"
        ).collect()[0]
        return int(row["q"]), int(row["a"])

    def conflicts(self) -> dict[str, Conflicts]:
        """Dimension keys whose valid rows disagree in content, per table."""
        found = {}
        for name in DIM_KEYS:
            rows = self.sql(conflict_sql(name, f"cls_{name}", CONFLICT_EXAMPLES)).collect()
            if rows:
                found[name] = Conflicts(int(rows[0]["n"]), [str(r[0]) for r in rows])
        return found

    def day_volumes(self) -> dict[date, int]:
        """Kept impressions per day of this run (what the volume gate compares)."""
        if self._volumes is not None:  # counted with the accounting, in the same job
            return dict(self._volumes)
        rows = self.sql(
            "SELECT CAST(event_time AS DATE) AS day, count(*) AS n FROM imp_clean GROUP BY 1"
        ).collect()
        return {r["day"]: int(r["n"]) for r in rows}

    def without_profile(self) -> dict[str, int]:
        """Kept events whose member has no profile (kept, with no affinities)."""
        row = self.sql(
            "SELECT (SELECT count(*) FROM imp_clean e LEFT ANTI JOIN profiles p"
            " ON p.member_id = e.member_id) AS impressions,"
            " (SELECT count(*) FROM play_clean e LEFT ANTI JOIN profiles p"
            " ON p.member_id = e.member_id) AS playbacks"
        ).collect()[0]
        return {"impressions": int(row["impressions"]), "playbacks": int(row["playbacks"])}

    def facts(self, partitions: int, narrow: bool = False) -> None:
        """The clean, attributed events the rollups, event tables and all-time tables read:
        imp_events and play_events (with `day` and the member's label set), stacked into
        `facts` (cached), hash-partitioned by day into `partitions` parts: each rollup then
        aggregates a day's rows in one task, without a shuffle and without partial sketches
        to merge, and every output file holds whole days. `narrow` facts (for the day
        tasks, `keyart.etl.spark.days`) leave out the label set, title and asset type,
        which the tasks look up: no join with the profiles, fewer columns cached."""
        if narrow:
            self._view(
                "facts", self.sql(narrow_facts_sql()).repartition(partitions, "day"), cache=True
            )
            return
        self._view(
            "imp_events",
            "SELECT CAST(i.event_time AS DATE) AS day, i.event_time, i.member_id, i.title_id,"
            f" i.asset_id, i.asset_type, i.country, coalesce(p.labels, {_EMPTY_LIST})"
            " AS affinities FROM imp_clean i LEFT JOIN profiles p ON p.member_id = i.member_id",
        )
        self._view(
            "play_events",
            "SELECT CAST(f.event_time AS DATE) AS day, f.event_time, f.member_id, f.title_id,"
            f" f.asset_id, f.asset_type, f.country, coalesce(p.labels, {_EMPTY_LIST})"
            " AS affinities, f.duration_s, f.engaged"
            " FROM play_facts f LEFT JOIN profiles p ON p.member_id = f.member_id",
        )
        self._view("facts", self.sql(facts_sql()).repartition(partitions, "day"), cache=True)


__all__ = ["DIM_COLUMNS", "DIM_SCHEMAS", "Cleaner"]
