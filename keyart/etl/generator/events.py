"""Valid impressions and playbacks of one chunk of days, drawn vectorised from the catalog
and the audience (the raw contract's event tables before defects are planted)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from keyart.etl.generator.audience import Audience
from keyart.etl.generator.catalog import Catalog
from keyart.etl.generator.profiles import Profile
from keyart.etl.generator.vocab import COUNTRY_WEIGHTS

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
# Relative impression volume per UTC hour: a night trough and an evening peak.
HOUR_WEIGHTS: tuple[float, ...] = (
    *(3.0, 2.0, 2.0, 1.5, 1.5, 1.5, 2.0, 2.5, 3.0, 3.0, 3.5, 4.0),  # 00-11 UTC
    *(4.5, 4.5, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0, 8.5, 8.0, 6.0, 4.5),  # 12-23 UTC
)
# Share of impressions seen while travelling, in another country than the member's.
TRAVEL_SHARE = 0.02
# Chance that an impression leads to a play, before the asset's hook, the member's
# propensity and the affinity boost (tuned for ~0.1 playbacks per impression).
PLAY_BASE = 0.066
AFFINITY_BOOST = 2.5
MAX_PLAY_CHANCE = 0.9
# Playbacks with no impression before them (browsing, search, a link), per impression.
UNPROMPTED_PER_IMPRESSION = 0.005
# Share of impressions with a twin: the same member shown another asset of the same title at
# the same instant (attribution breaks such ties by the smaller asset_id).
TWIN_SHARE = 0.0005
# Share of playbacks that carry the asset_id of the impression that led to them.
CARRIED_ASSET_SHARE = 0.25
# How long after an impression its playback starts: mostly soon, some within the day,
# a few exactly at the attribution bounds (0 and 24 h), some too late to be attributed.
DELAY_MEAN_US = 25 * 60 * 1_000_000
DELAY_SOON, DELAY_SAME_DAY, DELAY_AT_24H, DELAY_AT_0 = 0.68, 0.955, 0.957, 0.958
LATE_MAX_US = 72 * US_PER_HOUR


@dataclass(frozen=True, slots=True)
class ImpressionRows:
    """Impressions as parallel arrays (indices into the catalog and the audience)."""

    time_us: np.ndarray  # int64 µs since the epoch, UTC
    member: np.ndarray  # int64 audience index
    asset: np.ndarray  # int64 catalog asset index
    country: np.ndarray  # int64 index into COUNTRIES

    def __len__(self) -> int:
        return len(self.time_us)


@dataclass(frozen=True, slots=True)
class PlaybackRows:
    """Playbacks as parallel arrays; asset is -1 when the playback carries no asset_id."""

    time_us: np.ndarray  # int64 µs since the epoch, UTC
    member: np.ndarray  # int64 audience index
    title: np.ndarray  # int64 catalog title index
    asset: np.ndarray  # int64 catalog asset index or -1
    duration_s: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.time_us)


@dataclass(frozen=True, slots=True)
class World:
    """Everything chunks are drawn from: the profile, its catalog, audience and day volumes."""

    profile: Profile
    catalog: Catalog
    audience: Audience
    day_counts: np.ndarray  # int64 impressions per day

    @property
    def start_us(self) -> int:
        """The first instant of the period, µs since the epoch."""
        return (self.profile.start - date(1970, 1, 1)).days * US_PER_DAY

    @property
    def end_us(self) -> int:
        """The first instant after the period."""
        return self.start_us + self.profile.days * US_PER_DAY


def chunk_events(
    world: World, first: int, end: int, rng: np.random.Generator
) -> tuple[ImpressionRows, PlaybackRows]:
    """Valid impressions on days [first, end) and the playbacks they (and browsing) cause."""
    catalog, audience = world.catalog, world.audience
    assets, times, free_titles, free_times = [], [], [], []
    for day in range(first, end):
        n = int(world.day_counts[day])
        day_us = world.start_us + day * US_PER_DAY
        asset_cdf = np.cumsum(catalog.asset_weights(day))
        title_cdf = np.cumsum(catalog.title_weights(day))
        if asset_cdf[-1] <= 0:
            continue
        assets.append(_draw(asset_cdf, rng.random(n)))
        times.append(day_us + _time_of_day(rng, n))
        n_free = int(rng.binomial(n, UNPROMPTED_PER_IMPRESSION))
        free_titles.append(_draw(title_cdf, rng.random(n_free)))
        free_times.append(day_us + _time_of_day(rng, n_free))
    asset = _cat(assets)
    title = catalog.asset_title[asset]
    member = _members(world, title, rng)
    impressions = ImpressionRows(
        time_us=_cat(times),
        member=member,
        asset=asset,
        country=_countries(world, title, member, rng),
    )
    prompted = _prompted_plays(world, impressions, rng)
    impressions = _with_twins(world, impressions, rng)
    free_title = _cat(free_titles)
    k = len(free_title)
    free = PlaybackRows(
        time_us=_cat(free_times),
        member=audience.sample(rng.random(k)),
        title=free_title,
        asset=np.full(k, -1, dtype=np.int64),
        duration_s=_durations(rng, rng.beta(4.5, 3.0, k)),
    )
    plays = PlaybackRows(
        *(np.concatenate([a, b]) for a, b in zip(_fields(prompted), _fields(free), strict=True))
    )
    inside = plays.time_us < world.end_us  # plays after the period are not in the data
    return impressions, PlaybackRows(*(a[inside] for a in _fields(plays)))


def _fields(rows: PlaybackRows) -> tuple[np.ndarray, ...]:
    return (rows.time_us, rows.member, rows.title, rows.asset, rows.duration_s)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _draw(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn with probability proportional to the increments of `cdf`."""
    return np.asarray(np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(cdf) - 1))


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    hour = _draw(np.cumsum(HOUR_WEIGHTS), rng.random(n))
    return hour * US_PER_HOUR + rng.integers(0, US_PER_HOUR, n)


def _members(world: World, title: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Members seeing each impression: any member for global titles, members of an
    available country for regional ones."""
    catalog, audience = world.catalog, world.audience
    u = rng.random(len(title))
    member = audience.sample(u)
    regional = np.flatnonzero(~catalog.is_global[title])
    if len(regional) == 0:
        return member
    mass = audience.country_mass()
    populated = np.flatnonzero(mass > 0)
    order = regional[np.argsort(title[regional], kind="stable")]
    titles, starts = np.unique(title[order], return_index=True)
    ends = np.r_[starts[1:], len(order)]
    country = np.empty(len(order), dtype=np.int64)
    for t, lo, hi in zip(titles.tolist(), starts.tolist(), ends.tolist(), strict=True):
        bits = int(catalog.availability[t])
        allowed = np.asarray([c for c in populated.tolist() if bits >> c & 1], dtype=np.int64)
        if len(allowed) == 0:  # only at absurdly small scales: fall back to anywhere
            allowed = populated
        country[lo:hi] = allowed[_draw(np.cumsum(mass[allowed]), rng.random(hi - lo))]
    member[order] = audience.sample_in(country, u[order])
    return member


def _countries(
    world: World, title: np.ndarray, member: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The member's home country, or for travellers another country where the title runs."""
    home = world.audience.country[member]
    n = len(member)
    elsewhere = _draw(np.cumsum(list(COUNTRY_WEIGHTS.values())), rng.random(n))
    shown = (world.catalog.availability[title] >> elsewhere) & 1 == 1
    return np.where((rng.random(n) < TRAVEL_SHARE) & shown, elsewhere, home)


def _with_twins(world: World, imp: ImpressionRows, rng: np.random.Generator) -> ImpressionRows:
    """Append tied impressions: copies of a few rows showing a sibling asset at the same time."""
    catalog = world.catalog
    rows = np.flatnonzero(rng.random(len(imp)) < TWIN_SHARE)
    # assets are grouped by title: a title's assets are first .. first + count - 1
    title = catalog.asset_title[imp.asset[rows]]
    count = np.bincount(catalog.asset_title, minlength=catalog.n_titles)[title]
    first = np.searchsorted(catalog.asset_title, title, side="left")
    rows, count, first = rows[count > 1], count[count > 1], first[count > 1]
    step = 1 + (rng.random(len(rows)) * (count - 1)).astype(np.int64)
    sibling = first + (imp.asset[rows] - first + step) % count
    return ImpressionRows(
        time_us=np.r_[imp.time_us, imp.time_us[rows]],
        member=np.r_[imp.member, imp.member[rows]],
        asset=np.r_[imp.asset, sibling],
        country=np.r_[imp.country, imp.country[rows]],
    )


def _prompted_plays(world: World, imp: ImpressionRows, rng: np.random.Generator) -> PlaybackRows:
    catalog, audience = world.catalog, world.audience
    title = catalog.asset_title[imp.asset]
    match = (audience.genre_mask[imp.member] & catalog.title_genre_mask[title]) != 0
    chance = (
        PLAY_BASE
        * catalog.hook[imp.asset]
        * audience.propensity[imp.member]
        * np.where(match, AFFINITY_BOOST, 1.0)
    )
    played = np.flatnonzero(rng.random(len(imp)) < np.minimum(chance, MAX_PLAY_CHANCE))
    k = len(played)
    asset = imp.asset[played]
    carried = rng.random(k) < CARRIED_ASSET_SHARE
    return PlaybackRows(
        time_us=imp.time_us[played] + _delays(rng, k),
        member=imp.member[played],
        title=title[played],
        asset=np.where(carried, asset, -1),
        duration_s=_durations(rng, catalog.authenticity[asset]),
    )


def _delays(rng: np.random.Generator, k: int) -> np.ndarray:
    r = rng.random(k)
    soon = np.minimum(rng.exponential(DELAY_MEAN_US, k).astype(np.int64), US_PER_DAY)
    same_day = rng.integers(0, US_PER_DAY, k)
    late = rng.integers(US_PER_DAY + 1, LATE_MAX_US, k)
    return np.select(
        [r < DELAY_SOON, r < DELAY_SAME_DAY, r < DELAY_AT_24H, r < DELAY_AT_0],
        [soon, same_day, np.full(k, US_PER_DAY), np.zeros(k, dtype=np.int64)],
        late,
    )


def _durations(rng: np.random.Generator, authenticity: np.ndarray) -> np.ndarray:
    """Seconds watched: a bounce (< 2 min), a qualified view, or engaged viewing (≥ 15 min);
    authentic assets bounce less and engage more."""
    k = len(authenticity)
    u = rng.random(k)
    bounce = 0.1 + 0.45 * (1.0 - authenticity)
    engaged = bounce + (1.0 - bounce) * authenticity
    short = rng.integers(3, 120, k)
    middle = rng.integers(120, 900, k)
    long = 900 + np.minimum(rng.lognormal(np.log(1500.0), 0.8, k), 4 * 3600 - 900).astype(np.int64)
    return np.select([u < bounce, u < engaged], [short, long], middle).astype(np.int64)
