"""Which titles offline validation looks at, and the questions it asks about each.

Titles are picked from the reference stack's own answers: recently active (latest day with
impressions), highest volume, and edge cases (the smallest counts, the most affinities,
data spanning a month boundary). Each title gets its totals, its series at every
granularity, its assets' totals and daily series, and breakdowns by country and affinity.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from keyart.backends.base import Backend
from keyart.query import Dimension, Filter, Granularity, Interval, MetricQuery

SAMPLES = ("recent", "top", "edge")
RECENT_DAYS = 7


@dataclass(frozen=True, slots=True)
class Question:
    """One question asked of both stacks, with a readable label and why its title was
    picked."""

    label: str
    query: MetricQuery
    reason: str


async def pick_titles(
    reference: Backend, window: Interval, samples: tuple[str, ...], per_sample: int
) -> dict[str, str]:
    """Title id → why it was picked (the first sample that picked it), at most
    `per_sample` titles per sample."""
    by_day = await reference.execute(
        MetricQuery(window, Granularity.DAY, group_by=(Dimension.TITLE,))
    )
    volume: dict[str, int] = defaultdict(int)
    last: dict[str, date] = {}
    months: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for row in by_day.rows:
        title = row.get(Dimension.TITLE)
        volume[title] += row.metrics.impressions
        if row.bucket is not None and row.metrics.impressions > 0:
            last[title] = max(last.get(title, row.bucket), row.bucket)
            months[title].add((row.bucket.year, row.bucket.month))
    picked: dict[str, str] = {}

    def take(ordered: list[str], reason: str, n: int) -> None:
        for title in [t for t in ordered if t not in picked][:n]:
            picked[title] = reason

    titles = sorted(volume)
    if "recent" in samples:
        take(
            sorted(titles, key=lambda t: (-last.get(t, date.min).toordinal(), t)),
            "recent",
            per_sample,
        )
    if "top" in samples:
        take(sorted(titles, key=lambda t: (-volume[t], t)), "top", per_sample)
    if "edge" in samples:
        by_affinity = await reference.execute(
            MetricQuery(window, group_by=(Dimension.TITLE, Dimension.AFFINITY))
        )
        labels: dict[str, int] = defaultdict(int)
        for row in by_affinity.rows:
            labels[row.get(Dimension.TITLE)] += 1
        third = max(1, per_sample // 3)
        take(sorted(titles, key=lambda t: (volume[t], t)), "edge: smallest counts", third)
        take(sorted(titles, key=lambda t: (-labels[t], t)), "edge: most affinities", third)
        spanning = [t for t in titles if len(months[t]) > 1]
        take(spanning, "edge: spans a month boundary", per_sample - 2 * third)
    return picked


def questions_for(title: str, reason: str, window: Interval) -> list[Question]:
    """The questions asked about one title over `window` (and its last RECENT_DAYS)."""
    flt = Filter(title_ids=(title,))
    recent = Interval(max(window.start, window.end - timedelta(days=RECENT_DAYS - 1)), window.end)
    t, a = (Dimension.TITLE,), (Dimension.ASSET,)

    def q(
        name: str, interval: Interval, gran: Granularity, dims: tuple[Dimension, ...]
    ) -> Question:
        span = f"{interval.start.isoformat()}..{interval.end.isoformat()}"
        return Question(
            f"title {title}: {name} {span}", MetricQuery(interval, gran, flt, dims), reason
        )

    return [
        q("totals", window, Granularity.ALL, t),
        q("totals (recent)", recent, Granularity.ALL, t),
        q("series by day", window, Granularity.DAY, t),
        q("series by week", window, Granularity.WEEK, t),
        q("series by month", window, Granularity.MONTH, t),
        q("asset totals", window, Granularity.ALL, a),
        q("asset series by day", window, Granularity.DAY, a),
        q("assets by country", window, Granularity.ALL, (Dimension.ASSET, Dimension.COUNTRY)),
        q("assets by affinity", window, Granularity.ALL, (Dimension.ASSET, Dimension.AFFINITY)),
        q("title by affinity", window, Granularity.ALL, (Dimension.TITLE, Dimension.AFFINITY)),
    ]


__all__ = ["SAMPLES", "Question", "pick_titles", "questions_for"]
