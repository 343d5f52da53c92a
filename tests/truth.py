"""Exact truth computed from raw events, independently of keyart's ETL and backends: what
the tests check numbers of raw data against.

DuckDB SQL (written here, not keyart's) cleans the raw tables per the raw contract
(DESIGN §3); plain Python attributes qualified playbacks to impressions and counts every
metric of DESIGN §2 exactly, with exact distinct member sets. The raw tables come from a
raw directory or, for hand-built worlds, straight from Arrow tables keyed by table name:

    truth = Truth.from_raw(raw_dir)  # or Truth.from_raw({"titles": titles, ...})
    exact = truth.metrics(date(2026, 1, 21), date(2026, 2, 1), assets={"a1"}, countries={"US"})
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa

US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
EPOCH = date(1970, 1, 1)
COUNTRY_SQL = "regexp_full_match(country, '[A-Z][A-Z]')"
K = TypeVar("K")
RAW_TABLES = ("titles", "assets", "members", "impressions", "playbacks")
DIMENSIONS = ("titles", "assets", "members")


def _read_parquet(raw: Path, table: str) -> str:
    file = raw / f"{table}.parquet"
    if file.exists():
        return f"read_parquet('{file}')"
    return f"read_parquet('{raw / table}/**/*.parquet')"


def _day(us: int) -> date:
    return EPOCH + timedelta(days=us // US_PER_DAY)


@dataclass(frozen=True, slots=True)
class Event:
    """One clean impression, or one qualified play at its attributed impression."""

    day: date
    member: int
    title: str
    asset: str
    asset_type: str
    country: str
    affinities: frozenset[str]
    duration: int = 0  # plays only


@dataclass
class Exact:
    """Exact metrics of a group of events; distinct counts as member sets."""

    impressions: int = 0
    imp_members: set[int] = field(default_factory=set)
    qualified_plays: int = 0
    play_members: set[int] = field(default_factory=set)
    play_seconds: int = 0
    engaged_plays: int = 0

    @property
    def unique_impressions(self) -> int:
        return len(self.imp_members)

    @property
    def unique_players(self) -> int:
        return len(self.play_members)

    @property
    def take_rate(self) -> float | None:
        if not self.imp_members:
            return None
        return len(self.play_members) / len(self.imp_members)

    @property
    def authenticity(self) -> float | None:
        if self.qualified_plays == 0:
            return None
        return self.engaged_plays / self.qualified_plays


@dataclass(frozen=True, slots=True)
class TitleRow:
    id: str
    name: str
    kind: str
    genres: tuple[str, ...]
    launch_date: date | None


@dataclass(frozen=True, slots=True)
class AssetRow:
    id: str
    title_id: str
    type: str
    name: str
    tags: tuple[str, ...]
    media_url: str | None


class Truth:
    """Clean events of a raw directory and exact aggregates over them."""

    def __init__(
        self,
        titles: dict[str, TitleRow],
        assets: dict[str, AssetRow],
        impressions: list[Event],
        plays: list[Event],
        engaged_seconds: int,
    ) -> None:
        self.titles = titles
        self.assets = assets
        self.impressions = impressions
        self.plays = plays
        self.engaged_seconds = engaged_seconds

    @classmethod
    def from_raw(
        cls,
        raw: Path | Mapping[str, pa.Table],
        *,
        qualify_seconds: int = 120,
        engaged_seconds: int = 900,
        attribution_hours: int = 24,
    ) -> Truth:
        """The truth of a raw directory (one file or a folder of files per table), or of
        the five raw tables given as Arrow tables keyed by table name."""
        con = duckdb.connect()
        try:
            for table in RAW_TABLES:
                # a repeated dimension key keeps the last delivered row: the row of the
                # file whose path sorts last, and the last row of that file
                if isinstance(raw, Mapping):
                    rows = raw[table]
                    if table in DIMENSIONS:
                        rows = rows.append_column("_file", pa.array([""] * rows.num_rows))
                        rows = rows.append_column("_row", pa.array(range(rows.num_rows)))
                    con.register(f"raw_{table}", rows)
                elif table in DIMENSIONS:
                    source = _read_parquet(Path(raw), table)[:-1]
                    con.execute(
                        f"CREATE VIEW raw_{table} AS SELECT * EXCLUDE (file_row_number),"
                        f" file_row_number AS _row FROM {source},"
                        " filename = '_file', file_row_number = true)"
                    )
                else:
                    source = _read_parquet(Path(raw), table)
                    con.execute(f"CREATE VIEW raw_{table} AS SELECT * FROM {source}")
            return cls._load(con, qualify_seconds, engaged_seconds, attribution_hours)
        finally:
            con.close()

    @classmethod
    def _load(
        cls,
        con: duckdb.DuckDBPyConnection,
        qualify_seconds: int,
        engaged_seconds: int,
        attribution_hours: int,
    ) -> Truth:
        con.execute(
            """CREATE TEMP TABLE t AS SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY title_id
                    ORDER BY _file DESC, _row DESC) AS rn
                FROM raw_titles
                WHERE title_id IS NOT NULL AND name IS NOT NULL
                  AND kind IN ('series', 'film', 'live', 'game')) WHERE rn = 1"""
        )
        con.execute(
            """CREATE TEMP TABLE a AS SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY asset_id
                    ORDER BY _file DESC, _row DESC) AS rn
                FROM raw_assets
                WHERE asset_id IS NOT NULL AND name IS NOT NULL
                  AND asset_type IN ('artwork', 'video')
                  AND title_id IN (SELECT title_id FROM t)) WHERE rn = 1"""
        )
        con.execute(
            f"""CREATE TEMP TABLE m AS SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY member_id
                    ORDER BY _file DESC, _row DESC) AS rn
                FROM raw_members
                WHERE member_id IS NOT NULL AND country IS NOT NULL AND {COUNTRY_SQL})
                WHERE rn = 1"""
        )
        titles = {
            r[0]: TitleRow(r[0], r[1], r[2], tuple(r[3] or ()), r[4])
            for r in con.execute(
                "SELECT title_id, name, kind, genres, launch_date FROM t"
            ).fetchall()
        }
        assets = {
            r[0]: AssetRow(r[0], r[1], r[2], r[3], tuple(r[4] or ()), r[5])
            for r in con.execute(
                "SELECT asset_id, title_id, asset_type, name, tags, media_url FROM a"
            ).fetchall()
        }
        labels = {
            r[0]: frozenset(r[1] or ())
            for r in con.execute("SELECT member_id, affinities FROM m").fetchall()
        }
        imp_rows = con.execute(
            f"""SELECT epoch_us(event_time), member_id, asset_id, country FROM (
                SELECT *, row_number() OVER (PARTITION BY impression_id
                    ORDER BY event_time, member_id, asset_id, country) AS rn
                FROM raw_impressions
                WHERE event_time IS NOT NULL AND member_id IS NOT NULL
                  AND asset_id IN (SELECT asset_id FROM a)
                  AND country IS NOT NULL AND {COUNTRY_SQL})
                WHERE impression_id IS NULL OR rn = 1"""
        ).fetchall()
        play_rows = con.execute(
            """SELECT epoch_us(event_time), member_id, title_id, asset_id, duration_s FROM (
                SELECT *, row_number() OVER (PARTITION BY playback_id
                    ORDER BY event_time, member_id, title_id, asset_id NULLS LAST,
                             duration_s) AS rn
                FROM raw_playbacks
                WHERE event_time IS NOT NULL AND member_id IS NOT NULL
                  AND duration_s IS NOT NULL AND duration_s >= 0
                  AND title_id IN (SELECT title_id FROM t))
                WHERE playback_id IS NULL OR rn = 1"""
        ).fetchall()

        impressions: list[Event] = []
        seen: dict[tuple[int, str], list[tuple[int, str, str]]] = defaultdict(list)
        for us, member, asset_id, country in imp_rows:
            asset = assets[asset_id]
            impressions.append(
                Event(
                    _day(us),
                    member,
                    asset.title_id,
                    asset_id,
                    asset.type,
                    country,
                    labels.get(member, frozenset()),
                )
            )
            seen[(member, asset.title_id)].append((us, asset_id, country))

        window = attribution_hours * US_PER_HOUR
        plays: list[Event] = []
        for us, member, title_id, carried, duration in play_rows:
            if duration < qualify_seconds:
                continue
            candidates = [c for c in seen.get((member, title_id), ()) if us - window <= c[0] <= us]
            preferred = [c for c in candidates if c[1] == carried]
            pool = preferred or candidates
            if not pool:
                continue  # unattributed: counts nowhere
            # most recent first; ties to the smaller asset id, then the smaller country
            _, asset_id, country = min(pool, key=lambda c: (-c[0], c[1], c[2]))
            asset = assets[asset_id]
            plays.append(
                Event(
                    _day(us),
                    member,
                    title_id,
                    asset_id,
                    asset.type,
                    country,
                    labels.get(member, frozenset()),
                    duration,
                )
            )
        return cls(titles, assets, impressions, plays, engaged_seconds)

    # -- selection ----------------------------------------------------------------------

    def days(self) -> list[date]:
        """Every day with an impression, ascending."""
        return sorted({e.day for e in self.impressions})

    def busiest(self, attribute: str, n: int) -> list[str]:
        """The `n` values of an event attribute (title, asset, country) with the most
        impressions, most first; ties go to the smaller value."""
        counts = Counter(getattr(e, attribute) for e in self.impressions)
        return sorted(counts, key=lambda v: (-counts[v], v))[:n]

    def _keep(
        self,
        start: date,
        end: date,
        titles: Iterable[str] | None,
        assets: Iterable[str] | None,
        asset_types: Iterable[str] | None,
        countries: Iterable[str] | None,
        affinities: Iterable[str] | None,
        exclude_countries: Iterable[str] | None = None,
        affinities_all: Iterable[str] | None = None,
        exclude_affinities: Iterable[str] | None = None,
    ) -> Callable[[Event], bool]:
        t = None if titles is None else set(titles)
        a = None if assets is None else set(assets)
        ty = None if asset_types is None else set(asset_types)
        c = None if countries is None else set(countries)
        af = None if affinities is None else set(affinities)
        xc = set(exclude_countries or ())
        af_all = set(affinities_all or ())
        xaf = set(exclude_affinities or ())

        def keep(e: Event) -> bool:
            return (
                start <= e.day <= end
                and (t is None or e.title in t)
                and (a is None or e.asset in a)
                and (ty is None or e.asset_type in ty)
                and (c is None or e.country in c)
                and (af is None or bool(e.affinities & af))
                and e.country not in xc
                # a member without a profile has no labels: it has all of none, none of any
                and af_all <= e.affinities
                and not e.affinities & xaf
            )

        return keep

    def _add(self, exact: Exact, event: Event, is_play: bool) -> None:
        if is_play:
            exact.qualified_plays += 1
            exact.play_members.add(event.member)
            exact.play_seconds += event.duration
            exact.engaged_plays += int(event.duration >= self.engaged_seconds)
        else:
            exact.impressions += 1
            exact.imp_members.add(event.member)

    def grouped(
        self,
        start: date,
        end: date,
        key: Callable[[Event], Iterable[K]],
        *,
        titles: Iterable[str] | None = None,
        assets: Iterable[str] | None = None,
        asset_types: Iterable[str] | None = None,
        countries: Iterable[str] | None = None,
        affinities: Iterable[str] | None = None,
        exclude_countries: Iterable[str] | None = None,
        affinities_all: Iterable[str] | None = None,
        exclude_affinities: Iterable[str] | None = None,
    ) -> dict[K, Exact]:
        """Exact metrics per group; `key` gives the groups an event belongs to. Filters
        combine with AND: any-of lists, excluded countries, all-of and none-of labels."""
        keep = self._keep(
            start,
            end,
            titles,
            assets,
            asset_types,
            countries,
            affinities,
            exclude_countries,
            affinities_all,
            exclude_affinities,
        )
        out: dict[K, Exact] = defaultdict(Exact)
        for events, is_play in ((self.impressions, False), (self.plays, True)):
            for e in events:
                if keep(e):
                    for group in key(e):
                        self._add(out[group], e, is_play)
        return dict(out)

    def metrics(self, start: date, end: date, **flt: Iterable[str] | None) -> Exact:
        """Exact metrics of everything matching the filter in [start, end]."""
        return self.grouped(start, end, lambda e: (None,), **flt).get(None, Exact())

    def by_asset(self, start: date, end: date, **flt: Iterable[str] | None) -> dict[object, Exact]:
        """Exact metrics per asset."""
        return self.grouped(start, end, lambda e: (e.asset,), **flt)

    def by_country(
        self, start: date, end: date, **flt: Iterable[str] | None
    ) -> dict[object, Exact]:
        """Exact metrics per country of the (attributed) impression."""
        return self.grouped(start, end, lambda e: (e.country,), **flt)

    def by_affinity(
        self, start: date, end: date, **flt: Iterable[str] | None
    ) -> dict[object, Exact]:
        """Exact metrics per affinity label (multi-value: one group per label of the
        member; only the filter's labels when the filter lists affinities)."""
        listed = flt.get("affinities")
        allowed = None if listed is None else set(listed)
        return self.grouped(
            start,
            end,
            lambda e: (x for x in e.affinities if allowed is None or x in allowed),
            **flt,
        )

    def series(
        self, start: date, end: date, granularity: str, **flt: Iterable[str] | None
    ) -> dict[object, Exact]:
        """Exact metrics per bucket start ("day", "week" = ISO Monday, "month" = 1st)."""

        def bucket(e: Event) -> tuple[date]:
            if granularity == "week":
                return (e.day - timedelta(days=e.day.weekday()),)
            if granularity == "month":
                return (e.day.replace(day=1),)
            return (e.day,)

        return self.grouped(start, end, bucket, **flt)

    def countries_of_asset(self, asset: str) -> list[str]:
        """Sorted countries where the asset had impressions (all time)."""
        return sorted({e.country for e in self.impressions if e.asset == asset})

    def countries_of_title(self, title: str) -> list[str]:
        """Sorted countries where any asset of the title had impressions (all time)."""
        return sorted({e.country for e in self.impressions if e.title == title})

    def affinity_labels(self) -> list[str]:
        """Every affinity label carried by a member with an event."""
        labels: set[str] = set()
        for e in self.impressions:
            labels |= e.affinities
        return sorted(labels)

    def cells(self) -> dict[tuple[date, str, str], Exact]:
        """Exact metrics per (day, asset, country) over all days: the daily rollups' grain."""
        return self.grouped(date.min, date.max, lambda e: ((e.day, e.asset, e.country),))


@functools.cache
def truth_of(raw: Path) -> Truth:
    """The exact truth of a raw directory, computed once per test session (read it only)."""
    return Truth.from_raw(raw)


__all__ = ["AssetRow", "Event", "Exact", "TitleRow", "Truth", "truth_of"]
