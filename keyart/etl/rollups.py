"""Builds the daily rollup tables (asset_country_day, asset_affinity_day, asset_audience_day)
from integer-coded impression and attributed-play facts, one batch of days at a time.

Facts arrive as numpy arrays of codes (day number, asset, country, member). Member numbers
are assigned in (label set, member id) order, so one sort of the facts by (day, asset,
country, member) yields, as contiguous runs, both the (day, asset, country) groups and
their (label set) sub-groups: the country and audience rollups come from the same sorted
pass. The exploded affinity rollup re-sorts the pairs within each country group by label.
Distinct counts become HLL sketches through `GroupSketcher`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from keyart.errors import IngestError
from keyart.etl.hll import GroupSketcher
from keyart.warehouse.tables import ASSET_AFFINITY_DAY, ASSET_AUDIENCE_DAY, ASSET_COUNTRY_DAY

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Coding:
    """The dictionaries that turn the codes of one run back into warehouse values."""

    asset_ids: pa.Array  # by asset number (ascending asset_id)
    title_ids: pa.Array
    asset_types: pa.Array
    countries: pa.Array  # by country number
    labels: pa.Array  # affinity number n >= 1 is labels[n - 1]; 0 means no label
    member_ids: I64  # by member number ((label set, member id) order)
    coupons: npt.NDArray[np.uint32]  # HLL coupon per member number
    clash: npt.NDArray[np.bool_]  # coupon shared with another member
    member_set: I64  # label-set number per member number (non-decreasing)
    set_labels: pa.Array  # list<string> per label-set number, sorted labels
    label_offsets: I64  # CSR: labels of member m are label_values[off[m]:off[m+1]]
    label_values: I64  # affinity numbers (>= 1)


@dataclass(frozen=True, slots=True)
class Facts:
    """Integer-coded facts of one batch of days."""

    imp_day: I64
    imp_asset: I64
    imp_country: I64
    imp_member: I64
    play_day: I64
    play_asset: I64
    play_country: I64
    play_member: I64
    play_seconds: I64
    play_engaged: I64  # 1 when duration_s >= engaged_seconds


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Distinct (group, member) pairs, sorted by group, with per-pair event counts."""

    group: I64
    member: I64
    impressions: I64
    plays: I64
    seconds: I64
    engaged: I64


class RollupBuilder:
    """Turns batches of coded facts into Arrow tables of the three rollups."""

    def __init__(self, coding: Coding, lg_k: int) -> None:
        self.coding = coding
        self.sketcher = GroupSketcher(lg_k)
        self.n_assets = max(len(coding.asset_ids), 1)
        self.n_countries = max(len(coding.countries), 1)
        self.n_members = max(len(coding.member_ids), 1)
        self.n_labels = len(coding.labels) + 1

    def build(self, facts: Facts) -> dict[str, pa.Table]:
        """The rollup rows of the facts' days, keyed by rollup name, sorted by day."""
        if len(facts.imp_day) + len(facts.play_day) == 0:
            return {
                r.name: r.schema.empty_table()
                for r in (ASSET_COUNTRY_DAY, ASSET_AFFINITY_DAY, ASSET_AUDIENCE_DAY)
            }
        d0 = int(min(_min(facts.imp_day), _min(facts.play_day)))
        d1 = int(max(_max(facts.imp_day), _max(facts.play_day)))
        span = d1 - d0 + 1
        if span * self.n_assets * self.n_countries * self.n_members >= 2**62:
            raise IngestError(
                f"batch key space too large ({span} days x {self.n_assets} assets x "
                f"{self.n_countries} countries x {self.n_members} members)"
            )
        pairs = self._pairs(facts, d0)
        m = self.n_members
        cell = pairs.group // m  # (day, asset, country) cell of each pair
        member = pairs.member
        out = {}
        out[ASSET_COUNTRY_DAY.name] = self._table(
            ASSET_COUNTRY_DAY.schema, d0, _runs(cell), cell, pairs, member, None
        )
        label_set = self.coding.member_set[member]
        starts = _runs(cell, label_set)
        out[ASSET_AUDIENCE_DAY.name] = self._table(
            ASSET_AUDIENCE_DAY.schema,
            d0,
            starts,
            cell,
            pairs,
            member,
            ("affinities", self.coding.set_labels.take(pa.array(label_set[starts]))),
        )
        out[ASSET_AFFINITY_DAY.name] = self._affinity(d0, cell, pairs)
        return out

    def _pairs(self, f: Facts, d0: int) -> _Pairs:
        def key(day: I64, asset: I64, country: I64, member: I64) -> I64:
            cell = ((day - d0) * self.n_assets + asset) * self.n_countries + country
            return cell * self.n_members + member

        n_imp = len(f.imp_day)
        keys = np.concatenate(
            [
                key(f.imp_day, f.imp_asset, f.imp_country, f.imp_member),
                key(f.play_day, f.play_asset, f.play_country, f.play_member),
            ]
        )
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        starts = _runs(keys)
        is_imp = order < n_imp
        # impressions point at a trailing zero, so play measures need no masking
        play_pos = np.where(is_imp, len(f.play_day), order - n_imp)
        seconds = np.r_[f.play_seconds, 0][play_pos]
        engaged = np.r_[f.play_engaged, 0][play_pos]
        return _Pairs(
            group=keys[starts],
            member=keys[starts] % self.n_members,
            impressions=np.add.reduceat(is_imp.astype(np.int64), starts),
            plays=np.add.reduceat((~is_imp).astype(np.int64), starts),
            seconds=np.add.reduceat(seconds, starts),
            engaged=np.add.reduceat(engaged, starts),
        )

    def _affinity(self, d0: int, cell: I64, pairs: _Pairs) -> pa.Table:
        c = self.coding
        member = pairs.member
        first = c.label_offsets[member]
        count = c.label_offsets[member + 1] - first
        rows = np.maximum(count, 1)  # a member without labels keeps one row (affinity NULL)
        src = np.repeat(np.arange(len(member)), rows)
        rank = np.arange(len(src)) - np.repeat(np.cumsum(rows) - rows, rows)
        has = np.repeat(count > 0, rows)
        values = np.r_[c.label_values, 0]  # a trailing 0 for rows without labels
        label = values[np.where(has, np.repeat(first, rows) + rank, len(c.label_values))]
        # cells are already in order; sort each cell's pairs by label, members stay ascending
        cell_no = np.cumsum(np.r_[0, (cell[1:] != cell[:-1]).astype(np.int64)])[src]
        order = np.argsort(cell_no * self.n_labels + label, kind="stable")
        src, label = src[order], label[order]
        exploded = _Pairs(
            group=pairs.group[src],
            member=member[src],
            impressions=pairs.impressions[src],
            plays=pairs.plays[src],
            seconds=pairs.seconds[src],
            engaged=pairs.engaged[src],
        )
        ecell = cell[src]
        starts = _runs(ecell, label)
        g_label = label[starts]
        affinity = c.labels.take(pa.array(np.maximum(g_label - 1, 0), mask=g_label == 0))
        return self._table(
            ASSET_AFFINITY_DAY.schema,
            d0,
            starts,
            ecell,
            exploded,
            exploded.member,
            ("affinity", affinity),
        )

    def _table(
        self,
        schema: pa.Schema,
        d0: int,
        starts: I64,
        cell: I64,
        pairs: _Pairs,
        member: I64,
        extra: tuple[str, pa.Array] | None,
    ) -> pa.Table:
        c = self.coding
        n = len(starts)
        first = np.zeros(len(cell), dtype=np.int64)
        first[starts] = 1
        group_of_pair = np.cumsum(first) - 1
        g_cell = cell[starts]
        country = g_cell % self.n_countries
        asset = (g_cell // self.n_countries) % self.n_assets
        day = g_cell // (self.n_countries * self.n_assets) + d0
        asset_idx = pa.array(asset)
        columns = {
            "day": pa.array(day.astype(np.int32), pa.int32()).cast(pa.date32()),
            "title_id": c.title_ids.take(asset_idx),
            "asset_id": c.asset_ids.take(asset_idx),
            "asset_type": c.asset_types.take(asset_idx),
            "country": c.countries.take(pa.array(country)),
        }
        if extra is not None:
            columns[extra[0]] = extra[1]
        columns["impressions"] = pa.array(np.add.reduceat(pairs.impressions, starts))
        columns["qualified_plays"] = pa.array(np.add.reduceat(pairs.plays, starts))
        columns["play_seconds"] = pa.array(np.add.reduceat(pairs.seconds, starts))
        columns["engaged_plays"] = pa.array(np.add.reduceat(pairs.engaged, starts))
        for name, mask in (("imp_sketch", pairs.impressions > 0), ("play_sketch", pairs.plays > 0)):
            m = member[mask]
            columns[name] = self.sketcher.build(
                group_of_pair[mask], c.member_ids[m], c.coupons[m], c.clash[m], n
            )
        return pa.Table.from_pydict(columns, schema=schema)


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


def _min(a: I64) -> int:
    return int(a.min()) if len(a) else 2**31


def _max(a: I64) -> int:
    return int(a.max()) if len(a) else -(2**31)


def day_slices(table: pa.Table) -> list[tuple[int, pa.Table]]:
    """(day number, rows) for each day of a rollup table sorted by day."""
    if table.num_rows == 0:
        return []
    days = table.column("day").cast(pa.int32()).to_numpy()
    starts = _runs(days)
    ends = np.r_[starts[1:], len(days)]
    return [(int(days[s]), table.slice(s, e - s)) for s, e in zip(starts, ends, strict=True)]


__all__ = ["Coding", "Facts", "RollupBuilder", "day_slices"]
