"""The synthetic audience: members with random int64 ids, a skewed home country, affinity
labels, and how active and how keen on playing each one is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from keyart.etl.generator.catalog import genre_bits
from keyart.etl.generator.vocab import (
    AFFINITIES,
    AFFINITY_COUNTRY_BOOST,
    AFFINITY_GENRES,
    COUNTRIES,
    COUNTRY_WEIGHTS,
)
from keyart.etl.schemas import RAW_TABLES

# Members who produce events but are missing from the `members` table (kept by ingest).
UNLISTED_SHARE = 0.001
MIN_UNLISTED = 3
# Probability of holding 0, 1, 2, 3 or 4 affinity labels.
AFFINITY_COUNT_P = (0.12, 0.28, 0.30, 0.18, 0.12)
# Discrete activity levels per country and the spread of (log) activity across them.
ACTIVITY_LEVELS = 48
ACTIVITY_SIGMA = 1.0
# Members per block when drawing affinities (bounds the memory of the n×40 matrices).
_BLOCK = 200_000


@dataclass(frozen=True, slots=True)
class Audience:
    """Members as parallel arrays, grouped by home country and, within it, by activity level;
    group g holds members group_start[g]..group_start[g+1] (ACTIVITY_LEVELS per country)."""

    member_ids: np.ndarray  # int64, unique, positive, random
    listed: np.ndarray  # bool: written to the members table
    country: np.ndarray  # int64 index into COUNTRIES, non-decreasing
    group_start: np.ndarray  # int64 offsets of the (country, activity level) groups
    group_cdf: np.ndarray  # float64 running sum of the groups' total activity
    affinity_offsets: np.ndarray  # int64, len + 1 offsets into affinity_values
    affinity_values: np.ndarray  # int64 indices into AFFINITIES, sorted within a member
    genre_mask: np.ndarray  # int64 bit mask of the genres the member's affinities favour
    propensity: np.ndarray  # float64, mean 1: how readily the member presses play

    @property
    def size(self) -> int:
        """Number of members, listed or not."""
        return len(self.member_ids)

    def country_mass(self) -> np.ndarray:
        """Total activity of the members of each country."""
        bounds = np.r_[0.0, self.group_cdf][::ACTIVITY_LEVELS]
        return np.diff(bounds)

    def sample(self, u: np.ndarray) -> np.ndarray:
        """Members drawn by activity from uniform variates `u` in [0, 1)."""
        return self._pick(u * self.group_cdf[-1], 0.0, float(self.group_cdf[-1]))

    def sample_in(self, country: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Members of the given (populated) countries drawn by activity from uniforms `u`."""
        bounds = np.r_[0.0, self.group_cdf]
        lo = bounds[country * ACTIVITY_LEVELS]
        hi = bounds[(country + 1) * ACTIVITY_LEVELS]
        return self._pick(lo + u * (hi - lo), lo, hi)

    def _pick(self, x: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float) -> np.ndarray:
        # a point on the activity line falls in a group; its offset there picks the member
        x = np.clip(x, lo, np.nextafter(hi, lo))
        g = np.searchsorted(self.group_cdf, x, side="right")
        base = np.where(g > 0, self.group_cdf[np.maximum(g - 1, 0)], 0.0)
        size = self.group_start[g + 1] - self.group_start[g]
        frac = (x - base) / (self.group_cdf[g] - base)
        offset = np.minimum((frac * size).astype(np.int64), size - 1)
        return np.asarray(self.group_start[g] + offset)

    def members_table(self, rng: np.random.Generator) -> pa.Table:
        """The `members` raw table (listed members, in random order)."""
        affinities = pa.ListArray.from_arrays(
            pa.array(self.affinity_offsets.astype(np.int32)),
            pa.array(AFFINITIES, pa.string()).take(pa.array(self.affinity_values)),
        )
        table = pa.Table.from_arrays(
            [
                pa.array(self.member_ids, pa.int64()),
                pa.array(COUNTRIES, pa.string()).take(pa.array(self.country)),
                affinities,
            ],
            schema=RAW_TABLES["members"],
        )
        keep = np.flatnonzero(self.listed)
        return table.take(pa.array(rng.permutation(keep)))


def build_audience(n_listed: int, rng: np.random.Generator) -> Audience:
    """Draw `n_listed` members plus a few unlisted ones."""
    n_unlisted = max(MIN_UNLISTED, round(n_listed * UNLISTED_SHARE))
    n = n_listed + n_unlisted
    weights = np.asarray(list(COUNTRY_WEIGHTS.values()))
    per_country = rng.multinomial(n, weights / weights.sum())
    # activity is log-normal, discretised into levels so that sampling stays cache-friendly
    z = np.linspace(-3.0, 3.0, ACTIVITY_LEVELS)
    level_p = np.exp(-0.5 * z**2)
    per_group = np.concatenate([rng.multinomial(k, level_p / level_p.sum()) for k in per_country])
    group_start = np.r_[0, np.cumsum(per_group)].astype(np.int64)
    group_mass = per_group * np.tile(np.exp(ACTIVITY_SIGMA * z), len(COUNTRIES))
    country = np.repeat(np.arange(len(COUNTRIES), dtype=np.int64), per_country)
    country_start = np.r_[0, np.cumsum(per_country)].astype(np.int64)
    listed = np.ones(n, dtype=bool)
    listed[rng.choice(n, n_unlisted, replace=False)] = False

    offsets, values, genre_mask = _draw_affinities(rng, country_start)
    propensity = rng.lognormal(0.0, 0.5, n)
    return Audience(
        member_ids=_unique_ids(rng, n),
        listed=listed,
        country=country,
        group_start=group_start,
        group_cdf=np.cumsum(group_mass),
        affinity_offsets=offsets,
        affinity_values=values,
        genre_mask=genre_mask,
        propensity=propensity / propensity.mean(),
    )


def _unique_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct random positive int64 ids, in random order."""
    top = np.iinfo(np.int64).max
    ids = np.empty(0, dtype=np.int64)
    while len(ids) < n:  # collisions are astronomically rare, but ids must be unique
        ids = np.sort(np.r_[ids, rng.integers(1, top, n - len(ids), dtype=np.int64)])
        ids = ids[np.r_[True, ids[1:] != ids[:-1]]]
    return rng.permutation(ids)


def _draw_affinities(
    rng: np.random.Generator, country_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affinity label sets drawn without replacement by (country-boosted) popularity."""
    n_labels = len(AFFINITIES)
    base = 1.0 / (np.arange(n_labels) + 4.0) ** 0.9
    label_genres = np.asarray([genre_bits(AFFINITY_GENRES[a]) for a in AFFINITIES], np.int64)
    counts_p = np.asarray(AFFINITY_COUNT_P)
    max_k = len(counts_p) - 1
    n = int(country_start[-1])
    counts = np.empty(n, dtype=np.int64)
    genre_mask = np.empty(n, dtype=np.int64)
    values: list[np.ndarray] = []
    for c, code in enumerate(COUNTRIES):
        weights = base.copy()
        for label, boost in AFFINITY_COUNTRY_BOOST.get(code, {}).items():
            weights[AFFINITIES.index(label)] *= boost
        for lo in range(int(country_start[c]), int(country_start[c + 1]), _BLOCK):
            hi = min(lo + _BLOCK, int(country_start[c + 1]))
            m = hi - lo
            # exponential keys scaled by weight, smallest first: a weighted draw without
            # replacement (Efraimidis-Spirakis) for every member at once
            keys = rng.standard_exponential((m, n_labels)) / weights
            top = np.argpartition(keys, max_k - 1, axis=1)[:, :max_k]
            top = np.take_along_axis(
                top, np.argsort(np.take_along_axis(keys, top, axis=1), axis=1), axis=1
            )
            k = rng.choice(len(counts_p), m, p=counts_p)
            chosen = np.zeros((m, n_labels), dtype=bool)
            np.put_along_axis(chosen, top, np.arange(max_k) < k[:, None], axis=1)
            counts[lo:hi] = chosen.sum(axis=1)
            genre_mask[lo:hi] = np.bitwise_or.reduce(np.where(chosen, label_genres, 0), axis=1)
            values.append(np.nonzero(chosen)[1].astype(np.int64))
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
    flat = np.concatenate(values) if values else np.empty(0, dtype=np.int64)
    return offsets, flat, genre_mask
