"""The synthetic catalog: titles with genres, launch dates and heavy-tailed popularity, and
their assets with latent appeal, hook and authenticity (including the planted anomalies)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pyarrow as pa

from keyart.etl.generator.profiles import Profile
from keyart.etl.generator.vocab import (
    ARTWORK_NAMES,
    ASSET_TAGS,
    COUNTRY_WEIGHTS,
    GENRES,
    KIND_GENRES,
    KIND_WEIGHTS,
    TITLE_ADJECTIVES,
    TITLE_NOUNS,
    TITLE_PATTERNS,
    VIDEO_NAMES,
)
from keyart.etl.schemas import RAW_TABLES
from keyart.web.artwork import media_url

# Share of titles launched before the generated period (a back catalog) and of titles
# shown only in a handful of countries.
BACK_CATALOG_SHARE = 0.45
REGIONAL_SHARE = 0.25
# Share of assets whose media has no URL.
MISSING_MEDIA_SHARE = 0.08
# Planted anomalies per kind: this share of assets, at least MIN_PLANTED.
PLANTED_SHARE = 0.003
MIN_PLANTED = 2
OUTLIER_HOOK = 0.06
CLICKBAIT_HOOK = 4.0
CLICKBAIT_AUTHENTICITY = 0.05


def genre_bits(genres: list[str] | tuple[str, ...]) -> int:
    """The bit mask of a set of genres (bit i = GENRES[i])."""
    mask = 0
    for genre in genres:
        mask |= 1 << GENRES.index(genre)
    return mask


@dataclass(frozen=True, slots=True)
class Catalog:
    """Titles and assets as parallel arrays; asset arrays are grouped by title."""

    title_ids: list[str]
    title_names: list[str]
    title_kinds: list[str]
    title_genres: list[list[str]]
    launch_day: np.ndarray  # int64, days after the profile start (negative: back catalog)
    popularity: np.ndarray  # float64, heavy-tailed
    decay_days: np.ndarray  # float64, how fast interest fades after launch
    title_genre_mask: np.ndarray  # int64 bit mask over GENRES
    availability: np.ndarray  # int64 bit mask over COUNTRIES; all bits for global titles
    asset_ids: list[str]
    asset_title: np.ndarray  # int64 index into the title arrays
    asset_types: list[str]
    asset_names: list[str]
    asset_tags: list[list[str]]
    media_urls: list[str | None]
    appeal: np.ndarray  # float64, relative chance of being shown within its title
    hook: np.ndarray  # float64, multiplies the chance that an impression leads to a play
    authenticity: np.ndarray  # float64 in (0, 1), chance a play turns into engaged viewing
    outliers: np.ndarray  # int64 asset indices planted with a very low take rate
    clickbait: np.ndarray  # int64 asset indices planted with high take rate, low authenticity

    @property
    def n_titles(self) -> int:
        """Number of titles."""
        return len(self.title_ids)

    @property
    def n_assets(self) -> int:
        """Number of assets."""
        return len(self.asset_ids)

    @property
    def is_global(self) -> np.ndarray:
        """Whether each title is shown in every country."""
        return np.asarray(self.availability == (1 << len(COUNTRY_WEIGHTS)) - 1)

    def title_weights(self, day: int) -> np.ndarray:
        """Relative audience interest in each title on `day`: zero before launch, a launch
        spike decaying to a long tail."""
        age = day - self.launch_day
        curve = 0.2 + 1.8 * np.exp(-np.maximum(age, 0) / self.decay_days)
        return np.where(age >= 0, self.popularity * curve, 0.0)

    def asset_weights(self, day: int) -> np.ndarray:
        """Relative chance that an impression on `day` shows each asset."""
        return np.asarray(self.title_weights(day)[self.asset_title] * self._appeal_share)

    @property
    def _appeal_share(self) -> np.ndarray:
        totals = np.bincount(self.asset_title, weights=self.appeal, minlength=self.n_titles)
        return np.asarray(self.appeal / totals[self.asset_title])

    def titles_table(self, profile: Profile) -> pa.Table:
        """The `titles` raw table."""
        launch = [profile.start + timedelta(days=int(d)) for d in self.launch_day]
        return pa.Table.from_arrays(
            [
                pa.array(self.title_ids, pa.string()),
                pa.array(self.title_names, pa.string()),
                pa.array(self.title_kinds, pa.string()),
                pa.array(self.title_genres, pa.list_(pa.string())),
                pa.array(launch, pa.date32()),
            ],
            schema=RAW_TABLES["titles"],
        )

    def assets_table(self) -> pa.Table:
        """The `assets` raw table."""
        return pa.Table.from_arrays(
            [
                pa.array(self.asset_ids, pa.string()),
                pa.array([self.title_ids[t] for t in self.asset_title.tolist()], pa.string()),
                pa.array(self.asset_types, pa.string()),
                pa.array(self.asset_names, pa.string()),
                pa.array(self.asset_tags, pa.list_(pa.string())),
                pa.array(self.media_urls, pa.string()),
            ],
            schema=RAW_TABLES["assets"],
        )


def build_catalog(profile: Profile, rng: np.random.Generator) -> Catalog:
    """Draw the titles and assets of `profile`."""
    n = profile.titles
    kinds_all = list(KIND_WEIGHTS)
    kind_p = np.asarray(list(KIND_WEIGHTS.values()))
    kinds = [kinds_all[k] for k in rng.choice(len(kinds_all), n, p=kind_p / kind_p.sum())]
    genres = [_pick_genres(rng, kind) for kind in kinds]
    kind_pull = {"series": 1.0, "film": 0.9, "live": 0.5, "game": 0.4}
    popularity = rng.lognormal(0.0, 1.2, n) * np.asarray([kind_pull[k] for k in kinds])
    back = rng.random(n) < BACK_CATALOG_SHARE
    launch_day = np.where(
        back,
        -rng.integers(1, 366, n),
        rng.integers(0, max(1, int(profile.days * 0.85)), n),
    ).astype(np.int64)
    if not (launch_day <= 0).any():  # something must be watchable on the first day
        launch_day[int(np.argmax(popularity))] = -30
    title_ids = [f"t{v}" for v in (rng.choice(9_000_000, n, replace=False) + 1_000_000)]

    n_assets_of = 1 + rng.poisson(max(0.0, profile.assets_per_title - 1.0), n)
    asset_title = np.repeat(np.arange(n, dtype=np.int64), n_assets_of)
    m = len(asset_title)
    asset_ids = [f"a{v}" for v in (rng.choice(90_000_000, m, replace=False) + 10_000_000)]
    first_of_title = np.r_[True, asset_title[1:] != asset_title[:-1]]
    is_video = (rng.random(m) < 0.35) & ~first_of_title  # every title has key art first
    asset_types = ["video" if v else "artwork" for v in is_video.tolist()]
    appeal = rng.lognormal(0.0, 0.6, m)
    hook = rng.lognormal(0.0, 0.3, m)
    hook /= hook.mean()
    authenticity = np.clip(
        np.where(is_video, rng.beta(5.0, 2.5, m), rng.beta(4.5, 3.0, m)), 0.15, 0.95
    )
    media_missing = rng.random(m) < MISSING_MEDIA_SHARE
    tag_counts = rng.integers(1, 4, m)
    asset_tags = [
        [ASSET_TAGS[i] for i in rng.choice(len(ASSET_TAGS), k, replace=False)]
        for k in tag_counts.tolist()
    ]
    outliers, clickbait = _plant(profile, rng, launch_day, popularity, asset_title)
    appeal_floor = _title_max(appeal, asset_title, n)[asset_title]
    planted = np.concatenate([outliers, clickbait])
    # planted assets are as prominent as their title's best asset, so they gather traffic
    appeal[planted] = appeal_floor[planted]
    hook[outliers] = OUTLIER_HOOK
    hook[clickbait] = CLICKBAIT_HOOK
    authenticity[clickbait] = CLICKBAIT_AUTHENTICITY

    names = _title_names(rng, n)
    return Catalog(
        title_ids=title_ids,
        title_names=names,
        title_kinds=kinds,
        title_genres=genres,
        launch_day=launch_day,
        popularity=popularity,
        decay_days=rng.uniform(7.0, 45.0, n),
        title_genre_mask=np.asarray([genre_bits(g) for g in genres], dtype=np.int64),
        availability=_availability(rng, n),
        asset_ids=asset_ids,
        asset_title=asset_title,
        asset_types=asset_types,
        asset_names=_asset_names(names, asset_title, is_video),
        asset_tags=asset_tags,
        media_urls=[
            # placeholder artwork (video assets get a still) that keyart serve draws itself
            None if missing else media_url(aid)
            for aid, missing in zip(asset_ids, media_missing.tolist(), strict=True)
        ],
        appeal=appeal,
        hook=hook,
        authenticity=authenticity,
        outliers=outliers,
        clickbait=clickbait,
    )


def _pick_genres(rng: np.random.Generator, kind: str) -> list[str]:
    pool = KIND_GENRES[kind]
    k = int(rng.choice([1, 2, 3], p=[0.35, 0.45, 0.2]))
    return [pool[i] for i in sorted(rng.choice(len(pool), min(k, len(pool)), replace=False))]


def _plant(
    profile: Profile,
    rng: np.random.Generator,
    launch_day: np.ndarray,
    popularity: np.ndarray,
    asset_title: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick distinct assets of popular, early-launched titles for the two anomaly kinds."""
    k = max(MIN_PLANTED, round(len(asset_title) * PLANTED_SHARE))
    early = np.flatnonzero(launch_day <= profile.days // 5)
    ranked = early[np.argsort(-popularity[early], kind="stable")]
    titles = ranked[: 2 * k] if len(ranked) >= 2 * k else np.argsort(-popularity)[: 2 * k]
    chosen: list[int] = []
    for t in np.resize(titles, 2 * k).tolist():
        candidates = np.setdiff1d(np.flatnonzero(asset_title == t), chosen)
        if len(candidates) == 0:
            candidates = np.setdiff1d(np.arange(len(asset_title)), chosen)
        chosen.append(int(rng.choice(candidates)))
    picked = np.asarray(chosen, dtype=np.int64)
    return np.sort(picked[:k]), np.sort(picked[k:])


def _title_max(values: np.ndarray, asset_title: np.ndarray, n_titles: int) -> np.ndarray:
    out = np.full(n_titles, -np.inf)
    np.maximum.at(out, asset_title, values)
    return out


def _availability(rng: np.random.Generator, n: int) -> np.ndarray:
    n_countries = len(COUNTRY_WEIGHTS)
    weights = np.asarray(list(COUNTRY_WEIGHTS.values()))
    out = np.full(n, (1 << n_countries) - 1, dtype=np.int64)
    regional = np.flatnonzero(rng.random(n) < REGIONAL_SHARE)
    for t in regional.tolist():
        k = int(rng.integers(3, 16))
        chosen = rng.choice(n_countries, k, replace=False, p=weights / weights.sum())
        out[t] = int(np.bitwise_or.reduce(np.left_shift(1, chosen.astype(np.int64))))
    return out


def _title_names(rng: np.random.Generator, n: int) -> list[str]:
    seen: dict[str, int] = {}
    names: list[str] = []
    for _ in range(n):
        pattern = TITLE_PATTERNS[int(rng.integers(len(TITLE_PATTERNS)))]
        noun, noun2 = rng.choice(len(TITLE_NOUNS), 2, replace=False)
        name = pattern.format(
            adj=TITLE_ADJECTIVES[int(rng.integers(len(TITLE_ADJECTIVES)))],
            noun=TITLE_NOUNS[noun],
            noun2=TITLE_NOUNS[noun2],
        )
        seen[name] = seen.get(name, 0) + 1
        # a repeated name becomes a sequel, so names stay unique
        names.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return names


def _asset_names(titles: list[str], asset_title: np.ndarray, is_video: np.ndarray) -> list[str]:
    names: list[str] = []
    counter: dict[tuple[int, bool], int] = {}
    for t, video in zip(asset_title.tolist(), is_video.tolist(), strict=True):
        k = counter.get((t, video), 0)
        counter[(t, video)] = k + 1
        pool = VIDEO_NAMES if video else ARTWORK_NAMES
        names.append(f"{titles[t]} — {pool[k % len(pool)]} {k // len(pool) + 1}")
    return names
