"""All-time tables per asset and per title, recomputed over every day of a version.

Counts, availability (countries with impressions), affinities seen and first/last day are
totals over the version's daily rollups: `AlltimeTotals` adds up the days this run builds
as they are built (from each day's `DaySummary`), and the parent version's kept days are
read from their rollup files and merged in. The distinct-member sketches are built from
the distinct (asset, member) and (title, member) pairs of every event of the version: the
HLL union of an asset's daily sketches holds exactly the registers of a sketch of the
union of its members, and building it once from the pairs is far cheaper than
deserialising and merging every daily row (and keeps the HIP estimator, which a union
drops). Recomputing (rather than merging into the parent's all-time tables) keeps
re-ingested days exact: a replaced day's members cannot be subtracted from a merged sketch.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from keyart.backends.duckdb.sql import sql_strings
from keyart.etl.embedded.rollups import Coding, DaySummary
from keyart.sketches.groups import GroupSketcher
from keyart.warehouse.layout import Version, day_partition
from keyart.warehouse.tables import (
    ALLTIME_ASSETS,
    ALLTIME_TITLES,
    ASSET_AFFINITY_DAY,
    ASSET_COUNTRY_DAY,
)

I64 = npt.NDArray[np.int64]
_NO_DAY = np.iinfo(np.int32).max


class AlltimeTotals:
    """Per-asset totals over the days one run builds, added up day by day."""

    def __init__(self, coding: Coding) -> None:
        self.coding = coding
        n = max(len(coding.asset_ids), 1)
        self.n_countries = max(len(coding.countries), 1)
        self.n_labels = len(coding.labels) + 1
        self.sums = {
            k: np.zeros(n, dtype=np.int64)
            for k in ("impressions", "qualified_plays", "play_seconds", "engaged_plays")
        }
        self.countries = np.zeros((n, self.n_countries), dtype=bool)
        self.labels = np.zeros((n, self.n_labels), dtype=bool)
        self.first = np.full(n, _NO_DAY, dtype=np.int64)
        self.last = np.full(n, -_NO_DAY, dtype=np.int64)

    def add(self, s: DaySummary) -> None:
        """Count one day (each day at most once)."""
        for key, values in (
            ("impressions", s.impressions),
            ("qualified_plays", s.plays),
            ("play_seconds", s.seconds),
            ("engaged_plays", s.engaged),
        ):
            self.sums[key][s.asset] += values  # assets of a summary are distinct
        self.countries.reshape(-1)[s.cells] = True
        self.labels.reshape(-1)[s.labels] = True
        np.minimum.at(self.first, s.asset, s.day)
        np.maximum.at(self.last, s.asset, s.day)

    def table(self, by_title: bool) -> pa.Table:
        """Totals keyed by `k` = asset_id (or title_id), one row per key with any day,
        in the layout of `_measures_sql`."""
        c = self.coding
        seen = np.flatnonzero(self.first != _NO_DAY)
        key = c.asset_title[seen] if by_title else seen
        keys, group = np.unique(key, return_inverse=True)
        n = len(keys)
        sums = {k: np.bincount(group, v[seen], n).astype(np.int64) for k, v in self.sums.items()}
        first = np.full(n, _NO_DAY, dtype=np.int64)
        np.minimum.at(first, group, self.first[seen])
        last = np.full(n, -_NO_DAY, dtype=np.int64)
        np.maximum.at(last, group, self.last[seen])
        countries = np.zeros((n, self.n_countries), dtype=bool)
        labels = np.zeros((n, self.n_labels), dtype=bool)
        np.logical_or.at(countries, group, self.countries[seen])
        np.logical_or.at(labels, group, self.labels[seen])
        names = c.title_ids if by_title else c.asset_ids
        return pa.table(
            {
                "k": names.take(pa.array(keys)),
                **{k: pa.array(v) for k, v in sums.items()},
                "countries": _lists(countries, c.countries),
                "first_day": pa.array(first.astype(np.int32)).view(pa.date32()),
                "last_day": pa.array(last.astype(np.int32)).view(pa.date32()),
                # column 0 of the label matrix is "no label"
                "affinities": _lists(labels[:, 1:], c.labels),
            }
        )


def _lists(matrix: npt.NDArray[np.bool_], values: pa.Array) -> pa.Array:
    """list<string> per row: the `values` whose column is set, in column order."""
    rows, cols = np.nonzero(matrix)
    offsets = np.zeros(len(matrix) + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=len(matrix)), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values.take(pa.array(cols)))


def _measures_sql(files: dict[str, list[Path]], key: str) -> str:
    """Totals keyed by `k` over the given rollup files (asset_country_day and
    asset_affinity_day), in the layout of `AlltimeTotals.table`."""
    country = sql_strings(files[ASSET_COUNTRY_DAY.name])
    affinity = sql_strings(files[ASSET_AFFINITY_DAY.name])
    affinities = "SELECT NULL::VARCHAR AS k, NULL::VARCHAR[] AS affinities WHERE false"
    if files[ASSET_AFFINITY_DAY.name]:
        affinities = f"""SELECT k, list_sort(list(affinity)) AS affinities FROM (
            SELECT DISTINCT {key} AS k, affinity FROM read_parquet({affinity})
            WHERE affinity IS NOT NULL
        ) GROUP BY 1"""
    return f"""
    WITH m AS (
        SELECT {key} AS k, sum(impressions)::BIGINT AS impressions,
            sum(qualified_plays)::BIGINT AS qualified_plays,
            sum(play_seconds)::BIGINT AS play_seconds,
            sum(engaged_plays)::BIGINT AS engaged_plays,
            list_sort(list_distinct(list(country) FILTER (WHERE impressions > 0))) AS countries,
            min(day) AS first_day, max(day) AS last_day
        FROM read_parquet({country}) GROUP BY 1
    ), a AS ({affinities})
    SELECT m.k, m.impressions, m.qualified_plays, m.play_seconds, m.engaged_plays,
        m.countries, m.first_day, m.last_day, coalesce(a.affinities, []) AS affinities
    FROM m LEFT JOIN a USING (k)
    """


_MERGE_SQL = """SELECT k, sum(impressions)::BIGINT AS impressions,
    sum(qualified_plays)::BIGINT AS qualified_plays, sum(play_seconds)::BIGINT AS play_seconds,
    sum(engaged_plays)::BIGINT AS engaged_plays,
    list_sort(list_distinct(flatten(list(countries)))) AS countries,
    min(first_day) AS first_day, max(last_day) AS last_day,
    list_sort(list_distinct(flatten(list(affinities)))) AS affinities
    FROM ({parts}) GROUP BY k"""


# the layout of `_measures_sql` without rows (a version without days)
_NO_MEASURES = """SELECT NULL::VARCHAR AS k, 0::BIGINT AS impressions,
    0::BIGINT AS qualified_plays, 0::BIGINT AS play_seconds, 0::BIGINT AS engaged_plays,
    []::VARCHAR[] AS countries, NULL::DATE AS first_day, NULL::DATE AS last_day,
    []::VARCHAR[] AS affinities WHERE false"""


def _pairs(cursor: duckdb.DuckDBPyConnection, relation: str, key: str) -> tuple[I64, I64]:
    """The distinct (key, member_id) pairs of `relation`, sorted. DuckDB only sorts (a
    GROUP BY over ~all rows costs more than the sort); repeats are dropped afterwards."""
    pairs = cursor.execute(f"SELECT {key}, member_id FROM {relation} ORDER BY ALL").fetchnumpy()
    groups = np.asarray(pairs[key], dtype=np.int64)
    members = np.asarray(pairs["member_id"], dtype=np.int64)
    if not len(groups):
        return groups, members
    first = np.r_[True, (groups[1:] != groups[:-1]) | (members[1:] != members[:-1])]
    return groups[first], members[first]


def _sketches(
    con: duckdb.DuckDBPyConnection, jobs: list[tuple[str, str, int]], lg_k: int
) -> list[pa.Array]:
    """For each (relation, key column, n): a sketch per key number 0..n-1 of the distinct
    members the relation pairs with it. The next job's pairs are queried on a DuckDB cursor
    in a thread while the library builds the current job's sketches."""
    sketcher = GroupSketcher(lg_k)
    out = []
    with ThreadPoolExecutor(1, thread_name_prefix="keyart-alltime") as pool:
        cursor = con.cursor()
        try:
            pending = pool.submit(_pairs, cursor, jobs[0][0], jobs[0][1])
            for i, (_, _, n) in enumerate(jobs):
                groups, members = pending.result()
                if i + 1 < len(jobs):
                    pending = pool.submit(_pairs, cursor, jobs[i + 1][0], jobs[i + 1][1])
                out.append(sketcher.build(groups, members, None, None, n))
        finally:
            pending.cancel()
            cursor.close()
    return out


def build_alltime(
    con: duckdb.DuckDBPyConnection,
    lg_k: int,
    totals: AlltimeTotals | None,
    parent: Version | None,
    kept_days: list[date],
    pairs: tuple[str, str],
) -> tuple[pa.Table, pa.Table]:
    """ALLTIME_ASSETS and ALLTIME_TITLES of a new version: this run's `totals` plus the
    `kept_days` of `parent` (read from its rollups). Without `totals` every measure comes
    from the rollups of `kept_days` (a version whose days are all written already).

    `con` holds `asset_codes` (asset_no, asset_id, title_id: the version's asset dimension,
    numbered in asset_id order) and `title_codes` (title_no, title_id); `pairs` names two
    relations (asset_no, title_no, member_id) of every impression and attributed play of
    the version. Every asset and every title with an asset gets a row (zeros and NULL
    sketches when it has no events)."""
    assets = con.sql(
        "SELECT asset_id, title_id FROM asset_codes ORDER BY asset_no"
    ).to_arrow_table()
    n_titles = int(con.execute("SELECT count(*) FROM title_codes").fetchall()[0][0])
    with_assets = con.sql(
        "SELECT title_no, title_id FROM title_codes WHERE title_id IN"
        " (SELECT title_id FROM asset_codes) ORDER BY title_no"
    ).to_arrow_table()
    title_rows = pa.array(with_assets.column("title_no").to_numpy().astype(np.int64))
    bases = {"asset_id": assets, "title_id": with_assets.select(["title_id"])}
    jobs = [
        (relation, key, n)
        for relation in pairs
        for key, n in (("asset_no", assets.num_rows), ("title_no", n_titles))
    ]
    built = iter(_sketches(con, jobs, lg_k))
    for side in ("_imp", "_play"):
        bases["asset_id"] = bases["asset_id"].append_column(side, next(built))
        bases["title_id"] = bases["title_id"].append_column(side, next(built).take(title_rows))

    files = {
        name: [
            f
            for d in kept_days
            if parent is not None
            for f in sorted((parent.rollup_dir(name) / day_partition(d)).glob("*.parquet"))
        ]
        for name in (ASSET_COUNTRY_DAY.name, ASSET_AFFINITY_DAY.name)
    }
    out = []
    for col, schema in (("asset_id", ALLTIME_ASSETS), ("title_id", ALLTIME_TITLES)):
        con.register("_alltime_base", bases[col])
        if totals is not None:
            con.register("_alltime_new", totals.table(by_title=col == "title_id"))
            measures = "SELECT * FROM _alltime_new"
            if files[ASSET_COUNTRY_DAY.name]:
                parts = f"{measures} UNION ALL SELECT * FROM ({_measures_sql(files, col)})"
                measures = _MERGE_SQL.format(parts=parts)
        elif files[ASSET_COUNTRY_DAY.name]:
            measures = _measures_sql(files, col)  # each key once: nothing to merge
        else:
            measures = _NO_MEASURES
        table = con.sql(
            f"""SELECT b.*,
                coalesce(m.impressions, 0)::BIGINT AS impressions,
                coalesce(m.qualified_plays, 0)::BIGINT AS qualified_plays,
                coalesce(m.play_seconds, 0)::BIGINT AS play_seconds,
                coalesce(m.engaged_plays, 0)::BIGINT AS engaged_plays,
                coalesce(m.countries, [])::VARCHAR[] AS countries,
                coalesce(m.affinities, [])::VARCHAR[] AS affinities,
                m.first_day::DATE AS first_day, m.last_day::DATE AS last_day
            FROM _alltime_base b LEFT JOIN ({measures}) m ON m.k = b.{col} ORDER BY b.{col}"""
        ).to_arrow_table()
        con.unregister("_alltime_base")
        if totals is not None:
            con.unregister("_alltime_new")
        renamed = {"_imp": "imp_sketch", "_play": "play_sketch"}
        table = table.rename_columns([renamed.get(c, c) for c in table.column_names])
        out.append(table.select(schema.names).cast(schema))
    return out[0], out[1]


def event_pairs(
    con: duckdb.DuckDBPyConnection, parent: Version | None, kept_days: list[date]
) -> tuple[str, str]:
    """Views (asset_no, title_no, member_id) of every impression and attributed play of
    the new version: this run's facts (`imp`, `play`) plus the parent's kept days."""
    out = []
    for name, rel in (("impressions", "imp"), ("plays", "play")):
        sql = (
            f"SELECT f.asset_no, a.title_no, f.member_id FROM {rel} f"
            " JOIN asset_codes a ON a.asset_no = f.asset_no"
        )
        files = [
            f
            for d in kept_days
            if parent is not None
            for f in sorted((parent.events_dir(name) / day_partition(d)).glob("*.parquet"))
        ]
        if files:
            sql += (
                " UNION ALL SELECT a.asset_no, t.title_no, e.member_id"
                f" FROM read_parquet({sql_strings(files)}) e"
                " JOIN asset_codes a ON a.asset_id = e.asset_id"
                " JOIN title_codes t ON t.title_id = e.title_id"
            )
        con.execute(f"CREATE VIEW alltime_{rel} AS {sql}")
        out.append(f"alltime_{rel}")
    return out[0], out[1]


def write_alltime(
    con: duckdb.DuckDBPyConnection,
    lg_k: int,
    totals: AlltimeTotals | None,
    parent: Version | None,
    kept_days: list[date],
    view: Version,
) -> None:
    """Build the all-time tables of the new version and write them into `view`."""
    assets, titles = build_alltime(
        con, lg_k, totals, parent, kept_days, event_pairs(con, parent, kept_days)
    )
    view.alltime_path("assets").parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(assets, view.alltime_path("assets"))
    pq.write_table(titles, view.alltime_path("titles"))


__all__ = ["AlltimeTotals", "build_alltime", "event_pairs", "write_alltime"]
