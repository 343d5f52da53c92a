"""Named sizes of the synthetic world (tiny, demo, bench) and how their days are chunked."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from keyart.errors import ConfigError

# Target impressions per generated chunk: bounds memory at any scale (one file per chunk).
CHUNK_IMPRESSIONS = 2_000_000

# Relative volume Monday..Sunday: weekends draw more impressions.
WEEKDAY_FACTOR = (0.92, 0.9, 0.93, 0.97, 1.08, 1.15, 1.1)


@dataclass(frozen=True, slots=True)
class Profile:
    """The size and calendar of one synthetic dataset."""

    name: str
    start: date
    days: int
    titles: int
    assets_per_title: float
    members: int
    impressions: int

    def scaled(self, scale: float) -> Profile:
        """The same world with event and member volume multiplied by `scale`."""
        if not math.isfinite(scale) or scale <= 0:
            raise ConfigError(f"scale must be a positive number, got {scale}")
        return replace(
            self,
            members=max(1, round(self.members * scale)),
            impressions=max(1, round(self.impressions * scale)),
        )


PROFILES: dict[str, Profile] = {
    # starts on a Wednesday and crosses a month boundary: 4 ISO weeks, 2 months
    "tiny": Profile("tiny", date(2026, 1, 21), 21, 20, 5.0, 2_000, 20_000),
    "demo": Profile("demo", date(2026, 1, 5), 90, 200, 8.0, 100_000, 1_000_000),
    "bench": Profile("bench", date(2026, 1, 5), 180, 1_000, 8.0, 1_000_000, 20_000_000),
}


def get_profile(name: str, scale: float = 1.0) -> Profile:
    """The named profile scaled by `scale`; an unknown name is a ConfigError."""
    try:
        base = PROFILES[name]
    except KeyError:
        raise ConfigError(
            f"unknown profile {name!r}; choose from {', '.join(sorted(PROFILES))}"
        ) from None
    return base.scaled(scale)


def day_counts(profile: Profile) -> np.ndarray:
    """Impressions per day: weekday pattern plus mild growth, summing exactly to the total."""
    days = np.arange(profile.days)
    weekday = (profile.start.weekday() + days) % 7
    weights = np.asarray(WEEKDAY_FACTOR)[weekday] * (1.0 + 0.15 * days / max(1, profile.days))
    exact = profile.impressions * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    # largest remainders get the leftover impressions, so the total is exact and seed-free
    leftover = profile.impressions - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:leftover]] += 1
    return np.asarray(counts)


def chunk_days(counts: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive day ranges [first, end) holding about CHUNK_IMPRESSIONS each."""
    chunks: list[tuple[int, int]] = []
    first, acc = 0, 0
    for day, n in enumerate(counts.tolist()):
        if acc and acc + n > CHUNK_IMPRESSIONS:
            chunks.append((first, day))
            first, acc = day, 0
        acc += n
    chunks.append((first, len(counts)))
    return chunks
