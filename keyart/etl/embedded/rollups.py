"""Builds one day's output tables — the rollups asset_country_day, asset_affinity_day,
asset_audience_day and the clean event tables — from integer-coded facts.

Facts arrive as numpy arrays of codes (asset, country, member number). Member numbers are
assigned in (label set, member id) order, so one sort of the facts by (asset, country,
member) yields, as contiguous runs, both the (asset, country) cells and their (label set)
sub-groups: the country and audience rollups come from the same sorted pass. The exploded
affinity rollup re-sorts the pairs within each cell by label. Distinct counts become HLL
sketches through `GroupSketcher`. String columns are dictionary arrays over the run's
dictionaries (cut down to the values a table uses), so no string is copied per row;
written without the Arrow schema they read back as plain strings.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from keyart.errors import IngestError
from keyart.sketches.groups import GroupSketcher
from keyart.warehouse.tables import (
    ASSET_AFFINITY_DAY,
    ASSET_AUDIENCE_DAY,
    ASSET_COUNTRY_DAY,
    EVENT_IMPRESSIONS,
    EVENT_PLAYS,
)

I64 = npt.NDArray[np.int64]
_TIME = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class Coding:
    """The dictionaries that turn the codes of one run back into warehouse values."""

    asset_ids: pa.Array  # by asset number (ascending asset_id)
    asset_title: I64  # title number of each asset number
    title_ids: pa.Array  # by title number (ascending title_id)
    asset_kind: I64  # asset-type number of each asset number
    asset_types: pa.Array  # by asset-type number
    countries: pa.Array  # by country number
    labels: pa.Array  # by label number (ascending)
    member_ids: I64  # by member number ((label set, member id) order)
    coupons: npt.NDArray[np.uint32]  # HLL coupon per member number
    clash: npt.NDArray[np.bool_]  # coupon shared with another member
    member_set: I64  # label-set number per member number (non-decreasing)
    set_offsets: I64  # CSR: labels of set s are set_labels[set_offsets[s]:set_offsets[s+1]]
    set_labels: I64  # label numbers, ascending within a set


@dataclass(frozen=True, slots=True)
class DayFacts:
    """Integer-coded clean impressions and attributed qualified plays of one day."""

    day: int  # days since 1970-01-01
    imp_time: I64  # event_time, microseconds since the epoch (UTC)
    imp_asset: I64
    imp_country: I64
    imp_member: I64
    play_time: I64
    play_asset: I64
    play_country: I64
    play_member: I64
    play_seconds: I64
    play_engaged: I64  # 1 when duration_s >= engaged_seconds


@dataclass(frozen=True, slots=True)
class DaySummary:
    """What the all-time tables need from one day's rollups, as codes."""

    day: int
    asset: I64  # assets with a row that day, ascending
    impressions: I64  # per asset
    plays: I64
    seconds: I64
    engaged: I64
    cells: I64  # asset * n_countries + country of the cells with impressions
    labels: I64  # asset * n_labels + label number (>= 1) of labelled affinity rows (repeats)


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Distinct (cell, member) pairs sorted by cell then member, with per-pair measures."""

    cell: I64
    member: I64
    impressions: I64
    plays: I64
    seconds: I64
    engaged: I64

    def take(self, index: I64) -> _Pairs:
        """The pairs at `index`, in that order."""
        return _Pairs(*(getattr(self, f.name)[index] for f in fields(self)))


def dictionary(
    codes: npt.NDArray[np.integer], values: pa.Array, valid: npt.NDArray[np.bool_] | None = None
) -> pa.Array:
    """A dictionary array of `values[codes]` (NULL where `valid` is False)."""
    indices = codes.astype(np.int32)
    mask = None
    if valid is not None:
        indices[~valid] = 0
        mask = ~valid
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, pa.int32(), mask=mask), values, safe=False
    )


class _Subset:
    """The part of a large dictionary one day uses (Parquet stores a dictionary whole in
    every file, so a day's files get only the values they may need)."""

    def __init__(self, values: pa.Array, codes: list[I64]) -> None:
        used = np.zeros(len(values), dtype=bool)
        for c in codes:
            used[c] = True
        self.remap = np.cumsum(used, dtype=np.int32) - 1
        self.values = values.take(pa.array(np.flatnonzero(used)))

    def array(self, codes: I64) -> pa.Array:
        """The dictionary array of the values at `codes` (codes of the full dictionary)."""
        return dictionary(self.remap[codes], self.values)


class RollupBuilder:
    """Turns one day of coded facts into Arrow tables of the rollups and event tables."""

    def __init__(self, coding: Coding, lg_k: int, *, list_mode: bool = True) -> None:
        self.coding = coding
        self.sketcher = GroupSketcher(lg_k, list_mode=list_mode)
        self.n_countries = max(len(coding.countries), 1)
        self.n_members = max(len(coding.member_ids), 1)
        self.n_labels = len(coding.labels) + 1  # label number + 1; 0 = no label
        self.set_sizes = np.diff(coding.set_offsets)
        empty = _Subset(pa.array([], pa.string()), [])
        self._subsets: tuple[int | None, _Subset, _Subset] = (None, empty, empty)
        if max(len(coding.asset_ids), 1) * self.n_countries * self.n_members >= 2**62:
            raise IngestError(
                f"key space too large ({len(coding.asset_ids)} assets x "
                f"{self.n_countries} countries x {self.n_members} members)"
            )

    # -- rollups ---------------------------------------------------------------------

    def build(
        self, facts: DayFacts, *, audience: bool = True
    ) -> tuple[dict[str, pa.Table], DaySummary | None]:
        """The day's rows of each rollup, keyed by rollup name (empty tables are left out;
        the audience rollup too unless `audience`), and the day's summary for the
        all-time tables (None without rows)."""
        pairs = self._pairs(facts)
        if not len(pairs.cell):
            return {}, None
        self._day(facts)
        out = {}
        cell = pairs.cell
        label_set = self.coding.member_set[pairs.member]
        # audience groups first: a country cell or (cell, label) group holding the members
        # of a single audience group has that group's sketches (most groups, in sparse data)
        a_starts = _runs(cell, label_set)
        a_group = _group_of(a_starts, len(cell))
        a_sketches = self._sketches(a_starts, pairs, None)
        if audience:
            out[ASSET_AUDIENCE_DAY.name] = self._table(
                ASSET_AUDIENCE_DAY.schema,
                facts.day,
                a_starts,
                pairs,
                ("affinities", self._label_lists(label_set[a_starts])),
                a_sketches,
            )
        starts = _runs(cell)
        sums = self._sums(starts, pairs)
        out[ASSET_COUNTRY_DAY.name] = self._table(
            ASSET_COUNTRY_DAY.schema,
            facts.day,
            starts,
            pairs,
            None,
            self._sketches(starts, pairs, (a_group, a_sketches)),
            sums,
        )
        table, labelled = self._affinity(facts.day, pairs, label_set, (a_group, a_sketches))
        out[ASSET_AFFINITY_DAY.name] = table
        return out, self._summary(facts.day, cell[starts], sums, labelled)

    def _summary(self, day: int, cells: I64, sums: dict[str, I64], labelled: I64) -> DaySummary:
        asset = cells // self.n_countries
        starts = _runs(asset)
        per_asset = {k: np.add.reduceat(v, starts) for k, v in sums.items()}
        return DaySummary(
            day=day,
            asset=asset[starts],
            impressions=per_asset["impressions"],
            plays=per_asset["qualified_plays"],
            seconds=per_asset["play_seconds"],
            engaged=per_asset["engaged_plays"],
            cells=cells[sums["impressions"] > 0],
            labels=labelled,
        )

    @staticmethod
    def _sums(starts: I64, pairs: _Pairs) -> dict[str, I64]:
        return {
            "impressions": np.add.reduceat(pairs.impressions, starts),
            "qualified_plays": np.add.reduceat(pairs.plays, starts),
            "play_seconds": np.add.reduceat(pairs.seconds, starts),
            "engaged_plays": np.add.reduceat(pairs.engaged, starts),
        }

    def _pairs(self, f: DayFacts) -> _Pairs:
        m, c = self.n_members, self.n_countries
        imp = np.sort((f.imp_asset * c + f.imp_country) * m + f.imp_member)
        starts = _runs(imp)
        keys = imp[starts]
        impressions = np.diff(np.r_[starts, len(imp)])
        zeros = np.zeros(len(keys), dtype=np.int64)
        plays, seconds, engaged = zeros, zeros, zeros
        if len(f.play_member):
            play = (f.play_asset * c + f.play_country) * m + f.play_member
            order = np.argsort(play)
            play = play[order]
            p_starts = _runs(play)
            p_keys = play[p_starts]
            pos = np.searchsorted(keys, p_keys)
            found = pos < len(keys)
            found[found] = keys[pos[found]] == p_keys[found]
            keys = np.insert(keys, pos[~found], p_keys[~found])
            impressions = np.insert(impressions, pos[~found], 0)
            at = np.searchsorted(keys, p_keys)
            plays, seconds, engaged = (np.zeros(len(keys), dtype=np.int64) for _ in range(3))
            plays[at] = np.diff(np.r_[p_starts, len(play)])
            seconds[at] = np.add.reduceat(f.play_seconds[order], p_starts)
            engaged[at] = np.add.reduceat(f.play_engaged[order], p_starts)
        cell = keys // m
        return _Pairs(cell, keys - cell * m, impressions, plays, seconds, engaged)

    def _affinity(
        self, day: int, pairs: _Pairs, label_set: I64, audience: tuple[I64, dict[str, pa.Array]]
    ) -> tuple[pa.Table, I64]:
        c = self.coding
        n_pairs = len(pairs.cell)
        sizes = self.set_sizes[label_set]
        rows = np.maximum(sizes, 1)  # a member without labels keeps one row (affinity NULL)
        src = np.repeat(np.arange(n_pairs), rows)
        rank = np.arange(len(src)) - np.repeat(np.cumsum(rows) - rows, rows)
        labelled = np.repeat(sizes > 0, rows)
        first = np.repeat(c.set_offsets[label_set], rows) + rank
        values = np.r_[c.set_labels + 1, 0]  # a trailing 0 (no label) for unlabelled rows
        label = values[np.where(labelled, first, len(c.set_labels))]
        # cells are in order; sort each cell's pairs by label, members stay ascending
        cell_no = np.cumsum(np.r_[0, (pairs.cell[1:] != pairs.cell[:-1]).astype(np.int64)])
        span = (int(cell_no[-1]) + 1) * self.n_labels
        if span * n_pairs < 2**62:
            key = np.sort((cell_no[src] * self.n_labels + label) * n_pairs + src)
            src = key % n_pairs
            label = (key // n_pairs) % self.n_labels
        else:
            order = np.lexsort((src, label, cell_no[src]))
            src, label = src[order], label[order]
        exploded = pairs.take(src)
        starts = _runs(exploded.cell, label)
        g_label = label[starts]
        affinity = dictionary(np.maximum(g_label - 1, 0), c.labels, g_label > 0)
        a_group, a_sketches = audience
        table = self._table(
            ASSET_AFFINITY_DAY.schema,
            day,
            starts,
            exploded,
            ("affinity", affinity),
            self._sketches(starts, exploded, (a_group[src], a_sketches)),
        )
        g_asset = exploded.cell[starts] // self.n_countries
        return table, (g_asset * self.n_labels + g_label)[g_label > 0]

    def _table(
        self,
        schema: pa.Schema,
        day: int,
        starts: I64,
        pairs: _Pairs,
        extra: tuple[str, pa.Array] | None,
        sketches: dict[str, pa.Array],
        sums: dict[str, I64] | None = None,
    ) -> pa.Table:
        n = len(starts)
        g_cell = pairs.cell[starts]
        columns = self._keys(day, g_cell // self.n_countries, g_cell % self.n_countries)
        if extra is not None:
            columns[extra[0]] = extra[1]
        for name, values in (sums or self._sums(starts, pairs)).items():
            columns[name] = pa.array(values)
        columns.update(sketches)
        assert all(len(v) == n for v in columns.values())
        return pa.Table.from_arrays(list(columns.values()), names=list(columns))

    def _sketches(
        self, starts: I64, pairs: _Pairs, audience: tuple[I64, dict[str, pa.Array]] | None
    ) -> dict[str, pa.Array]:
        """imp_sketch and play_sketch of each group (runs of `pairs` from `starts`). With
        `audience` (the audience group of each entry of `pairs`, and the audience groups'
        sketches), a group within one audience group takes its sketches."""
        n = len(starts)
        ends = np.r_[starts[1:], len(pairs.cell)]
        build = np.ones(n, dtype=bool)
        if audience is not None:
            a_group, a_sketches = audience
            build = a_group[starts] != a_group[ends - 1]
        group = _group_of(starts, len(pairs.cell))
        out = {}
        for name, counts in (("imp_sketch", pairs.impressions), ("play_sketch", pairs.plays)):
            has = (counts > 0) & build[group]
            # members with the measure, group after group; per group how many
            m = pairs.member[has]
            built = self.sketcher.build_runs(
                np.bincount(group[has], minlength=n)[build],
                self.coding.member_ids[m],
                self.coding.coupons[m],
                self.coding.clash[m],
            )
            if audience is None:
                out[name] = built
                continue
            index = np.where(build, 0, a_group[starts])
            index[build] = len(a_sketches[name]) + np.arange(len(built))
            out[name] = pa.concat_arrays([a_sketches[name], built]).take(pa.array(index))
        return out

    # -- shared columns ----------------------------------------------------------------

    def _keys(self, day: int, asset: I64, country: I64) -> dict[str, pa.Array]:
        c = self.coding
        assets, titles = self._subsets[1], self._subsets[2]
        return {
            "day": pa.array(np.full(len(asset), day, dtype=np.int32)).view(pa.date32()),
            "title_id": titles.array(c.asset_title[asset]),
            "asset_id": assets.array(asset),
            "asset_type": dictionary(c.asset_kind[asset], c.asset_types),
            "country": dictionary(country, c.countries),
        }

    def _day(self, f: DayFacts) -> None:
        """Cut the asset and title dictionaries down to what day `f` uses."""
        if self._subsets[0] == f.day:
            return
        c = self.coding
        assets = _Subset(c.asset_ids, [f.imp_asset, f.play_asset])
        titles = _Subset(c.title_ids, [c.asset_title[f.imp_asset], c.asset_title[f.play_asset]])
        self._subsets = (f.day, assets, titles)

    def _label_lists(self, label_set: I64) -> pa.Array:
        """list<dictionary<string>>: the sorted labels of each given label set."""
        c = self.coding
        sizes = self.set_sizes[label_set]
        offsets = np.zeros(len(sizes) + 1, dtype=np.int32)
        np.cumsum(sizes, out=offsets[1:])
        src = np.repeat(c.set_offsets[label_set] - offsets[:-1], sizes) + np.arange(offsets[-1])
        return pa.ListArray.from_arrays(pa.array(offsets), dictionary(c.set_labels[src], c.labels))

    # -- clean event tables ------------------------------------------------------------

    def events(self, f: DayFacts) -> dict[str, pa.Table]:
        """The day's clean impressions and attributed plays (empty tables are left out)."""
        self._day(f)
        out = {}
        if len(f.imp_member):
            out["impressions"] = self._events(
                EVENT_IMPRESSIONS, f.day, f.imp_time, f.imp_asset, f.imp_country, f.imp_member
            )
        if len(f.play_member):
            table = self._events(
                EVENT_PLAYS, f.day, f.play_time, f.play_asset, f.play_country, f.play_member
            )
            table = table.append_column("duration_s", pa.array(f.play_seconds, pa.int64()))
            out["plays"] = table.append_column("engaged", pa.array(f.play_engaged.astype(bool)))
        return out

    def _events(
        self, schema: pa.Schema, day: int, time: I64, asset: I64, country: I64, member: I64
    ) -> pa.Table:
        columns = self._keys(day, asset, country)
        columns["event_time"] = pa.array(time, pa.int64()).view(_TIME)
        columns["member_id"] = pa.array(self.coding.member_ids[member])
        columns["affinities"] = self._label_lists(self.coding.member_set[member])
        names = [n for n in schema.names if n in columns]
        return pa.Table.from_arrays([columns[n] for n in names], names=names)


def _group_of(starts: I64, n: int) -> I64:
    """The run number of each of n entries, given the runs' start indexes."""
    first = np.zeros(n, dtype=np.int64)
    first[starts] = 1
    return np.cumsum(first) - 1


def _runs(*keys: npt.NDArray[np.integer]) -> I64:
    """Start index of each run of equal consecutive values across the key arrays."""
    n = len(keys[0])
    if n == 0:
        return np.empty(0, dtype=np.int64)
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for k in keys:
        change[1:] |= k[1:] != k[:-1]
    return np.flatnonzero(change)


__all__ = ["Coding", "DayFacts", "DaySummary", "RollupBuilder", "dictionary"]
