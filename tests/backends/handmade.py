"""A small hand-built warehouse and a plain-Python oracle, for backend tests.

Events are generated directly in attributed form (day, member, asset, country), then
rolled up by straightforward Python into every warehouse table; the oracle answers IR
queries from the same event list without any SQL, so it shares no code with the backends.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from keyart import sketches
from keyart.query.ir import Dimension, Granularity, MetricQuery
from keyart.query.results import QueryResult
from keyart.warehouse import tables
from keyart.warehouse.layout import Version, Warehouse, day_partition
from tests.backends.cases import Universe, cases
from tests.truth import Event as CleanEvent
from tests.truth import Truth as RawTruth

LG_K = 12
QUALIFY_SECONDS = 120
ENGAGED_SECONDS = 900
FIRST_DAY = date(2024, 1, 29)  # a Monday; the data crosses a month boundary
N_DAYS = 38
ASSETS = {  # asset -> (title, type)
    "A1": ("T1", "artwork"),
    "A2": ("T1", "video"),
    "A3": ("T2", "artwork"),
    "A4": ("T2", "video"),
}
COUNTRIES = ("BR", "DE", "US")
LABELS = ("x", "y", "z")
UNIVERSE = Universe(
    FIRST_DAY,
    N_DAYS,
    assets=tuple(ASSETS),
    titles=("T1", "T2"),
    countries=COUNTRIES,
    labels=LABELS,
)
CASES = cases(UNIVERSE)


@dataclass(frozen=True, slots=True)
class Event:
    """One attributed impression or qualified play."""

    day: date
    member: int
    asset: str
    country: str
    labels: tuple[str, ...]
    duration: int = 0  # plays only
    title: str = ""  # derived from ASSETS when empty
    asset_type: str = ""

    def __post_init__(self) -> None:
        if not self.title:
            object.__setattr__(self, "title", ASSETS[self.asset][0])
        if not self.asset_type:
            object.__setattr__(self, "asset_type", ASSETS[self.asset][1])


@dataclass(slots=True)
class Dataset:
    """The events behind a hand-built warehouse."""

    impressions: list[Event] = field(default_factory=list)
    plays: list[Event] = field(default_factory=list)

    @property
    def days(self) -> list[date]:
        return sorted({e.day for e in self.impressions} | {e.day for e in self.plays})

    @classmethod
    def from_truth(cls, truth: RawTruth) -> Dataset:
        """The clean impressions and attributed qualified plays of raw data's exact truth."""

        def event(e: CleanEvent) -> Event:
            labels = tuple(sorted(e.affinities))
            return Event(
                e.day, e.member, e.asset, e.country, labels, e.duration, e.title, e.asset_type
            )

        return cls([event(e) for e in truth.impressions], [event(e) for e in truth.plays])


def make_dataset(seed: int = 11, n_members: int = 400, n_impressions: int = 6000) -> Dataset:
    """Random events: members with 0-3 labels, skewed assets, plays drawn from impressions."""
    rng = random.Random(seed)
    members = {}
    for member in range(1, n_members + 1):
        k = rng.choice((0, 1, 1, 2, 2, 3))
        members[member * 7919] = tuple(sorted(rng.sample(LABELS, k)))
    ids = list(members)
    data = Dataset()
    assets = list(ASSETS)
    for _ in range(n_impressions):
        member = rng.choice(ids)
        event = Event(
            FIRST_DAY + timedelta(days=rng.randrange(N_DAYS)),
            member,
            rng.choices(assets, weights=(5, 3, 2, 1))[0],
            rng.choice(COUNTRIES),
            members[member],
        )
        data.impressions.append(event)
        if rng.random() < 0.25:
            duration = rng.choice((QUALIFY_SECONDS, 300, 600, ENGAGED_SECONDS, 2400))
            # some plays start the next day, still in the impression's country
            last_day = FIRST_DAY + timedelta(days=N_DAYS - 1)
            play_day = min(event.day + timedelta(days=rng.choice((0, 0, 1))), last_day)
            data.plays.append(
                Event(play_day, member, event.asset, event.country, event.labels, duration)
            )
    return data


def _rollup_rows(
    data: Dataset, day: date, affinity: str | None
) -> dict[tuple[Any, ...], dict[str, Any]]:
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}

    def keys(e: Event) -> list[tuple[Any, ...]]:
        base = (e.day, e.title, e.asset, e.asset_type, e.country)
        if affinity is None:
            return [base]
        if affinity == "exploded":
            # a label-less member gets a null-affinity row; backends must not group it
            return [(*base, label) for label in e.labels] or [(*base, None)]
        return [(*base, e.labels)]

    def slot(key: tuple[Any, ...]) -> dict[str, Any]:
        return groups.setdefault(
            key,
            {
                "impressions": 0,
                "qualified_plays": 0,
                "play_seconds": 0,
                "engaged_plays": 0,
                "imp": set(),
                "play": set(),
            },
        )

    for e in data.impressions:
        if e.day == day:
            for key in keys(e):
                g = slot(key)
                g["impressions"] += 1
                g["imp"].add(e.member)
    for e in data.plays:
        if e.day == day:
            for key in keys(e):
                g = slot(key)
                g["qualified_plays"] += 1
                g["play_seconds"] += e.duration
                g["engaged_plays"] += int(e.duration >= ENGAGED_SECONDS)
                g["play"].add(e.member)
    return groups


def _write(path: Path, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def _key_names(affinity: str | None) -> list[str]:
    names = ["day", "title_id", "asset_id", "asset_type", "country"]
    if affinity == "exploded":
        names.append("affinity")
    elif affinity == "multi":
        names.append("affinities")
    return names


def publish(warehouse: Path | Warehouse, data: Dataset) -> Version:
    """Write every rollup and event table of `data` as a new current warehouse version."""
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    with wh.stage() as staging:
        root = staging.root
        for day in data.days:
            part = day_partition(day)
            for rollup in tables.ROLLUPS:
                rows = []
                for key, g in sorted(
                    _rollup_rows(data, day, rollup.affinity).items(), key=lambda kv: repr(kv[0])
                ):
                    row = dict(zip(_key_names(rollup.affinity), key, strict=True))
                    if rollup.affinity == "multi":
                        row["affinities"] = list(row["affinities"])
                    row.update(
                        {
                            k: g[k]
                            for k in (
                                "impressions",
                                "qualified_plays",
                                "play_seconds",
                                "engaged_plays",
                            )
                        }
                    )
                    row["imp_sketch"] = sketches.build(sorted(g["imp"]), LG_K) if g["imp"] else None
                    row["play_sketch"] = (
                        sketches.build(sorted(g["play"]), LG_K) if g["play"] else None
                    )
                    rows.append(row)
                _write(root / "rollups" / rollup.name / part / "part.parquet", rows, rollup.schema)
            _write(
                root / "events" / "impressions" / part / "part.parquet",
                [_event_row(e) for e in data.impressions if e.day == day],
                tables.EVENT_IMPRESSIONS,
            )
            _write(
                root / "events" / "plays" / part / "part.parquet",
                [
                    {
                        **_event_row(e),
                        "duration_s": e.duration,
                        "engaged": e.duration >= ENGAGED_SECONDS,
                    }
                    for e in data.plays
                    if e.day == day
                ],
                tables.EVENT_PLAYS,
            )
        titles = sorted({e.title for e in data.impressions})
        _write(
            root / "dims" / "titles.parquet",
            [
                {"title_id": t, "name": t, "kind": "film", "genres": [], "launch_date": None}
                for t in titles
            ],
            tables.TITLES,
        )
        assets = sorted({(e.asset, e.title, e.asset_type) for e in data.impressions})
        _write(
            root / "dims" / "assets.parquet",
            [
                {
                    "asset_id": a,
                    "title_id": t,
                    "asset_type": k,
                    "name": a,
                    "tags": [],
                    "media_url": None,
                }
                for a, t, k in assets
            ],
            tables.ASSETS,
        )
        manifest = {
            "days": [d.isoformat() for d in data.days],
            "etl": {
                "lg_k": LG_K,
                "qualify_seconds": QUALIFY_SECONDS,
                "engaged_seconds": ENGAGED_SECONDS,
                "attribution_hours": 24,
            },
        }
        return staging.commit(manifest)


def _event_row(e: Event) -> dict[str, Any]:
    return {
        "day": e.day,
        "event_time": datetime(e.day.year, e.day.month, e.day.day, 12, tzinfo=UTC),
        "member_id": e.member,
        "title_id": e.title,
        "asset_id": e.asset,
        "asset_type": e.asset_type,
        "country": e.country,
        "affinities": list(e.labels),
    }


# ---------------------------------------------------------------- the oracle


@dataclass(slots=True)
class Truth:
    """Exact metrics of one group."""

    impressions: int = 0
    unique_impressions: set[int] = field(default_factory=set)
    qualified_plays: int = 0
    unique_players: set[int] = field(default_factory=set)
    play_seconds: int = 0
    engaged_plays: int = 0


GroupKey = tuple[date | None, tuple[tuple[Dimension, str], ...]]


def _bucket(day: date, query: MetricQuery) -> date | None:
    # written out here rather than via keyart.query.time, to stay independent
    if query.granularity is Granularity.ALL:
        return None
    if query.granularity is Granularity.DAY:
        return day
    if query.granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    return date(day.year, day.month, 1)


def matches(e: Event, query: MetricQuery) -> bool:
    """Whether an event passes the query's window and filter."""
    f = query.filter
    if not query.interval.start <= e.day <= query.interval.end:
        return False
    for allowed, value in (
        (f.title_ids, e.title),
        (f.asset_ids, e.asset),
        (f.asset_types, e.asset_type),
        (f.countries, e.country),
    ):
        if allowed is not None and value not in allowed:
            return False
    if f.exclude_countries is not None and e.country in f.exclude_countries:
        return False
    # a member's labels decide for all of its events; no profile means no labels
    labels = set(e.labels)
    if f.affinities is not None and not labels & set(f.affinities):
        return False
    if f.affinities_all is not None and not set(f.affinities_all) <= labels:
        return False
    return f.exclude_affinities is None or not labels & set(f.exclude_affinities)


def _group_keys(e: Event, query: MetricQuery) -> list[GroupKey]:
    per_dim: list[list[tuple[Dimension, str]]] = []
    for dim in query.group_by:
        if dim is Dimension.AFFINITY:
            labels = [
                label
                for label in e.labels
                if query.filter.affinities is None or label in query.filter.affinities
            ]
            per_dim.append([(dim, label) for label in labels])
        else:
            value = {
                Dimension.TITLE: e.title,
                Dimension.ASSET: e.asset,
                Dimension.ASSET_TYPE: e.asset_type,
                Dimension.COUNTRY: e.country,
            }[dim]
            per_dim.append([(dim, value)])
    combos: list[tuple[tuple[Dimension, str], ...]] = [()]
    for options in per_dim:
        combos = [(*c, o) for c in combos for o in options]
    return [(_bucket(e.day, query), c) for c in combos]


def oracle(data: Dataset, query: MetricQuery) -> dict[GroupKey, Truth]:
    """Exact answer of `query` over the events, one entry per non-empty group."""
    out: dict[GroupKey, Truth] = defaultdict(Truth)
    for e in data.impressions:
        if matches(e, query):
            for key in _group_keys(e, query):
                out[key].impressions += 1
                out[key].unique_impressions.add(e.member)
    for e in data.plays:
        if matches(e, query):
            for key in _group_keys(e, query):
                t = out[key]
                t.qualified_plays += 1
                t.unique_players.add(e.member)
                t.play_seconds += e.duration
                t.engaged_plays += int(e.duration >= ENGAGED_SECONDS)
    return dict(out)


def nonzero(truth: dict[GroupKey, Truth], metrics: Iterable[str]) -> dict[GroupKey, Truth]:
    """The groups with a non-zero value for at least one of the given metrics."""
    keep = {}
    for key, t in truth.items():
        if any(getattr(t, m) for m in metrics):
            keep[key] = t
    return keep


@dataclass(slots=True)
class Comparison:
    """How a backend result compared with the oracle: distinct-count checks and misses."""

    distinct_checked: int = 0
    distinct_outside: int = 0


def compare(
    result: QueryResult, truth: dict[GroupKey, Truth], query: MetricQuery, *, exact: bool
) -> Comparison:
    """Assert groups and counts equal the oracle exactly; distinct counts equal (exact) or
    are counted as inside/outside their bounds (sketches)."""
    metrics = [m.value for m in query.metrics]
    expected = {
        key: t
        for key, t in nonzero(truth, metrics).items()
        if t.impressions >= query.min_impressions
    }
    got = {(row.bucket, row.dims): row.metrics for row in result.rows}
    assert len(got) == len(result.rows), "a group appears twice"
    assert set(got) == set(expected), (
        f"groups differ: missing {sorted(set(expected) - set(got), key=repr)[:5]}, "
        f"extra {sorted(set(got) - set(expected), key=repr)[:5]}"
    )
    cmp = Comparison()
    for key, t in expected.items():
        values = got[key]
        for m in metrics:
            want = getattr(t, m)
            have = getattr(values, m)
            if isinstance(want, set):
                n = len(want)
                if exact:
                    assert (have.value, have.lower, have.upper) == (n, n, n), (key, m, have, n)
                else:
                    cmp.distinct_checked += 1
                    assert have.lower <= have.value <= have.upper, (key, m, have)
                    if not have.lower <= n <= have.upper:
                        cmp.distinct_outside += 1
            else:
                assert have == want, (key, m, have, want)
    return cmp
