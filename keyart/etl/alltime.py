"""All-time tables per asset and per title, recomputed over every day of a version.

Counts, availability (countries with impressions), affinities seen and first/last day come
from the version's daily rollups. The distinct-member sketches are built from the distinct
(asset, member) and (title, member) pairs of the version's clean event tables: the HLL
union of an asset's daily sketches holds exactly the registers of a sketch of the union of
its members, and building it once from the pairs is far cheaper than deserialising and
merging every daily row. Recomputing (rather than merging into the parent's all-time
tables) keeps re-ingested days exact: a replaced day's members cannot be subtracted from a
merged sketch.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from keyart.etl.hll import GroupSketcher
from keyart.warehouse.layout import Version
from keyart.warehouse.tables import (
    ALLTIME_ASSETS,
    ALLTIME_TITLES,
    ASSET_AFFINITY_DAY,
    ASSET_COUNTRY_DAY,
)


def _measures_sql(version: Version, key: str) -> str:
    country = version.rollup_glob(ASSET_COUNTRY_DAY)
    affinity = version.rollup_glob(ASSET_AFFINITY_DAY)
    return f"""
    WITH m AS (
        SELECT {key} AS k, sum(impressions)::BIGINT AS impressions,
            sum(qualified_plays)::BIGINT AS qualified_plays,
            sum(play_seconds)::BIGINT AS play_seconds,
            sum(engaged_plays)::BIGINT AS engaged_plays,
            list_sort(list_distinct(list(country) FILTER (WHERE impressions > 0))) AS countries,
            min(day) AS first_day, max(day) AS last_day
        FROM read_parquet('{country}') GROUP BY 1
    ), a AS (
        SELECT k, list_sort(list(affinity)) AS affinities FROM (
            SELECT DISTINCT {key} AS k, affinity FROM read_parquet('{affinity}')
            WHERE affinity IS NOT NULL
        ) GROUP BY 1
    )
    SELECT m.*, coalesce(a.affinities, []) AS affinities FROM m LEFT JOIN a USING (k)
    """


_NO_MEASURES = """SELECT NULL::VARCHAR AS k, NULL::BIGINT AS impressions,
    NULL::BIGINT AS qualified_plays, NULL::BIGINT AS play_seconds, NULL::BIGINT AS engaged_plays,
    NULL::VARCHAR[] AS countries, NULL::DATE AS first_day, NULL::DATE AS last_day,
    NULL::VARCHAR[] AS affinities WHERE false"""


def _distinct_pairs(
    groups: npt.NDArray[np.int64], members: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distinct (group, member) pairs sorted by group then member."""
    if len(groups) == 0:
        return groups, members
    low = int(members.min())
    bits = max(int(members.max()) - low, 1).bit_length()
    if int(groups.max()).bit_length() + bits <= 62:
        # one int64 key: a plain sort is several times faster than a lexsort
        key = np.sort((groups << bits) | (members - low))
        key = key[np.r_[True, key[1:] != key[:-1]]]
        return key >> bits, (key & ((1 << bits) - 1)) + low
    order = np.lexsort((members, groups))
    g, m = groups[order], members[order]
    keep = np.r_[True, (g[1:] != g[:-1]) | (m[1:] != m[:-1])]
    return g[keep], m[keep]


def _event_sketches(
    files: list[Path], keys: dict[str, pa.Array], sketcher: GroupSketcher
) -> dict[str, pa.Array]:
    """Per key column (asset_id / title_id): a sketch per key value (in `keys` order) of
    the members in the event files."""
    if not files:
        return {col: pa.nulls(len(values), pa.binary()) for col, values in keys.items()}
    table = pads.dataset([str(f) for f in files], format="parquet").to_table(
        columns=[*keys, "member_id"]
    )
    members = table.column("member_id").to_numpy()
    out = {}
    for col, values in keys.items():
        index = pc.index_in(table.column(col), value_set=values).to_numpy(zero_copy_only=False)
        known = ~np.isnan(index) if index.dtype.kind == "f" else np.ones(len(index), bool)
        g, m = _distinct_pairs(index[known].astype(np.int64), members[known].astype(np.int64))
        out[col] = sketcher.build(g, m, None, None, len(values))
    return out


def build_alltime(
    con: duckdb.DuckDBPyConnection, version: Version, assets: pa.Table, lg_k: int
) -> tuple[pa.Table, pa.Table]:
    """ALLTIME_ASSETS and ALLTIME_TITLES of a version whose rollups and events are written;
    `assets` = the version's asset dimension (asset_id, title_id). Every asset and title of
    the dimension gets a row (zeros and NULL sketches when it has no events)."""
    sketcher = GroupSketcher(lg_k)
    asset_ids = assets.column("asset_id").combine_chunks()
    title_ids = pc.unique(assets.column("title_id")).sort()
    imp_files = sorted(version.events_dir("impressions").glob("day=*/*.parquet"))
    play_files = sorted(version.events_dir("plays").glob("day=*/*.parquet"))
    keys = {"asset_id": asset_ids, "title_id": title_ids}
    imp = _event_sketches(imp_files, keys, sketcher)
    play = _event_sketches(play_files, keys, sketcher)

    has_rollups = any(version.rollup_dir(ASSET_COUNTRY_DAY).glob("day=*/*.parquet"))
    out = []
    for col, schema in (("asset_id", ALLTIME_ASSETS), ("title_id", ALLTIME_TITLES)):
        base = pa.table({col: keys[col], "_imp": imp[col], "_play": play[col]})
        if col == "asset_id":
            base = base.append_column("title_id", assets.column("title_id").combine_chunks())
        con.register("_alltime_base", base)
        measures = _measures_sql(version, col) if has_rollups else _NO_MEASURES
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
        renamed = {"_imp": "imp_sketch", "_play": "play_sketch"}
        table = table.rename_columns([renamed.get(c, c) for c in table.column_names])
        out.append(table.select(schema.names).cast(schema))
    return out[0], out[1]


__all__ = ["build_alltime"]
