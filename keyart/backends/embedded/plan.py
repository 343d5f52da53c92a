"""Picks the smallest warehouse rollup that answers a query exactly (DESIGN §2 affinities)."""

from __future__ import annotations

from keyart.query.ir import Dimension, Granularity, MetricQuery
from keyart.warehouse.tables import (
    ASSET_AFFINITY_DAY,
    ASSET_AUDIENCE_DAY,
    ASSET_COUNTRY_DAY,
    Rollup,
)

# serving-copy tables merged over countries: base rollup -> (table, extra key columns)
ALL_COUNTRIES: dict[str, tuple[str, tuple[str, ...]]] = {
    ASSET_COUNTRY_DAY.name: ("asset_day", ()),
    ASSET_AFFINITY_DAY.name: ("asset_affinity_day_all_countries", ("affinity",)),
}


# A query over more titles than this (and no listed assets) reads the day files, not the
# serving copy: see catalog_wide.
WIDE_TITLES = 100


def catalog_wide(query: MetricQuery) -> bool:
    """Whether a query reaches across the catalog (no listed assets, and no or many listed
    titles), so that the day files answer it faster than the serving copy.

    The serving copy is sorted by (title, asset, day): a question about a few assets reads
    only their blocks, but one over every asset in a window needs rows of every block, and
    DuckDB then reads the sketch blobs of the whole table (measured on bench, topAssets
    over 7 days in one country and affinity: ~1.7 s from the copy, ~0.17 s from the 7 day
    files, which hold just the window's rows).
    """
    flt = query.filter
    return flt.asset_ids is None and (flt.title_ids is None or len(flt.title_ids) > WIDE_TITLES)


# A result of at most this many rows, from at most about this many rollup rows (listed
# entities x days x listed countries), is fetched as Python tuples: see few_rows.
FEW_ROWS = 16
FEW_CELLS = 1024


def few_rows(query: MetricQuery) -> bool:
    """Whether the query's answer is small by its shape alone: no time buckets, grouped
    only by entities it lists (an asset's total, a title page's assets), at most FEW_ROWS
    groups, over at most about FEW_CELLS rollup rows (a listed title counts as one
    entity). Such a result is fetched as Python tuples: DuckDB hands a result to Arrow
    through one more statement over its rows (~0.45 ms, whatever their number), three
    times what fetching a dozen rows as tuples costs; fetching each sketch of a large
    result as a Python object would cost more than that."""
    flt = query.filter
    if query.granularity is not Granularity.ALL:
        return False
    if flt.asset_ids is not None:
        entities = len(flt.asset_ids)
    elif flt.title_ids is not None:
        entities = len(flt.title_ids)
    else:
        return False  # across the catalog
    listed = {Dimension.ASSET: flt.asset_ids, Dimension.TITLE: flt.title_ids}
    rows = 1
    for dim in query.group_by:
        ids = listed.get(dim)
        if ids is None:
            return False
        rows *= len(ids)
    cells = entities * query.interval.days * len(flt.countries or ("",))
    return rows <= FEW_ROWS and cells <= FEW_CELLS


def choose_rollup(query: MetricQuery) -> Rollup:
    """The rollup to read.

    - no affinity filter or grouping: `asset_country_day` (affinities dropped);
    - grouping by affinity with at most an any-of filter, or a filter that says "the
      member has label L" (one listed label, or one required label): `asset_affinity_day`,
      whose rows each carry one label, so a row is counted once per label group and a
      single-label filter is an equality on that label;
    - any other affinity filter (two or more any-of labels, all-of, none-of), grouped by
      affinity or not: `asset_audience_day`, whose rows carry the member's whole label
      set, so the filter is decided per member and each event counts once (the exploded
      table would count a member with two listed labels twice, and cannot tell which
      other labels the members behind a label row have); grouping then unnests the sets.
    """
    flt = query.filter
    if Dimension.AFFINITY in query.group_by:
        if flt.affinities_all is not None or flt.exclude_affinities is not None:
            return ASSET_AUDIENCE_DAY
        return ASSET_AFFINITY_DAY
    if not flt.uses_affinities:
        return ASSET_COUNTRY_DAY
    if flt.single_label is not None:
        return ASSET_AFFINITY_DAY
    return ASSET_AUDIENCE_DAY


def serving_table(query: MetricQuery, rollup: Rollup) -> str:
    """The serving-copy table to read for a query answered from `rollup`: the rollup
    merged over countries when the query neither filters nor groups by country (far fewer
    rows and sketches to merge), else the rollup itself."""
    merged = ALL_COUNTRIES.get(rollup.name)
    return rollup.name if query.uses_countries or merged is None else merged[0]


__all__ = [
    "ALL_COUNTRIES",
    "WIDE_TITLES",
    "catalog_wide",
    "choose_rollup",
    "serving_table",
]
