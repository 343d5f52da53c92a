"""Exact truth straight from a raw directory, written independently of the ETL: plain
DuckDB SQL cleans the raw events, plain Python attributes playbacks (DESIGN §2, §3).

The result is a `handmade.Dataset`, so `handmade.oracle` answers any IR query from it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from keyart.config import EtlSettings
from tests.backends.cases import Universe
from tests.backends.handmade import Dataset, Event

# sketch precision of the low-precision tiny warehouse (bounds are tested in HLL mode)
LOW_LG_K = 5


def _source(raw: Path, table: str) -> str:
    folder = raw / table
    path = folder / "*.parquet" if folder.is_dir() else raw / f"{table}.parquet"
    return f"read_parquet('{path}')"


def raw_truth(raw: Path, settings: EtlSettings | None = None) -> Dataset:
    """Clean, de-duplicated impressions and attributed qualified plays of a raw directory."""
    s = settings or EtlSettings()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # UTC days, whatever the machine's zone
    con.execute(f"CREATE TABLE assets AS SELECT * FROM {_source(raw, 'assets')}")
    con.execute(f"CREATE TABLE titles AS SELECT * FROM {_source(raw, 'titles')}")
    con.execute(f"CREATE TABLE members AS SELECT * FROM {_source(raw, 'members')}")
    impressions = con.execute(
        f"""
        WITH src AS (SELECT *, row_number() OVER () AS rn FROM {_source(raw, "impressions")}),
        valid AS (
            SELECT * FROM src
            WHERE event_time IS NOT NULL AND member_id IS NOT NULL
              AND asset_id IN (SELECT asset_id FROM assets)
              AND country IS NOT NULL AND regexp_full_match(country, '[A-Z]{{2}}')
            QUALIFY impression_id IS NULL
                 OR row_number() OVER (PARTITION BY impression_id ORDER BY rn) = 1
        )
        SELECT v.event_time, v.member_id, v.asset_id, a.title_id, a.asset_type, v.country
        FROM valid v JOIN assets a USING (asset_id)
        """
    ).fetchall()
    playbacks = con.execute(
        f"""
        WITH src AS (SELECT *, row_number() OVER () AS rn FROM {_source(raw, "playbacks")})
        SELECT event_time, member_id, title_id, asset_id, duration_s FROM src
        WHERE event_time IS NOT NULL AND member_id IS NOT NULL AND duration_s >= 0
          AND title_id IN (SELECT title_id FROM titles)
        QUALIFY playback_id IS NULL
             OR row_number() OVER (PARTITION BY playback_id ORDER BY rn) = 1
        """
    ).fetchall()
    labels = {
        int(m): tuple(sorted(set(a or ())))
        for m, a in con.execute("SELECT member_id, affinities FROM members").fetchall()
    }
    con.close()

    data = Dataset()
    # (member, title) -> impressions as (time, asset, country)
    seen: dict[tuple[int, str], list[tuple[datetime, str, str]]] = defaultdict(list)
    for time, member, asset, title, asset_type, country in impressions:
        data.impressions.append(
            Event(time.date(), member, asset, country, labels.get(member, ()), 0, title, asset_type)
        )
        seen[(member, title)].append((time, asset, country))
    kinds = {a: t for a, t in duckdb_assets(raw)}
    window = timedelta(hours=s.attribution_hours)
    for time, member, title, carried, duration in playbacks:
        if duration < s.qualify_seconds:
            continue
        candidates = [c for c in seen.get((member, title), ()) if time - window <= c[0] <= time]
        if carried is not None and any(c[1] == carried for c in candidates):
            candidates = [c for c in candidates if c[1] == carried]
        if not candidates:
            continue  # unattributed: counts nowhere
        latest = max(c[0] for c in candidates)
        _, asset, country = min(c for c in candidates if c[0] == latest)  # tie: smaller asset
        data.plays.append(
            Event(
                time.date(),
                member,
                asset,
                country,
                labels.get(member, ()),
                duration,
                title,
                kinds[asset],
            )
        )
    return data


def duckdb_assets(raw: Path) -> list[tuple[str, str]]:
    """(asset_id, asset_type) of every asset in the raw catalog."""
    return duckdb.execute(f"SELECT asset_id, asset_type FROM {_source(raw, 'assets')}").fetchall()


def universe(data: Dataset) -> Universe:
    """The busiest assets, titles, countries and labels of a dataset, and its calendar."""
    days = data.days
    assets: Counter[str] = Counter(e.asset for e in data.impressions)
    titles: Counter[str] = Counter(e.title for e in data.impressions)
    countries: Counter[str] = Counter(e.country for e in data.impressions)
    labels: Counter[str] = Counter(label for e in data.impressions for label in e.labels)
    return Universe(
        days[0],
        (days[-1] - days[0]).days + 1,
        assets=tuple(a for a, _ in assets.most_common(3)),
        titles=tuple(t for t, _ in titles.most_common(2)),
        countries=tuple(c for c, _ in countries.most_common(2)),
        labels=tuple(label for label, _ in labels.most_common(3)),
    )
