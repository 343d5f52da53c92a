"""The snapshot of a warehouse built the normal way (generate tiny → ingest) against truth
computed here with DuckDB from the raw files and the clean event tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from keyart.config import EtlSettings
from keyart.etl.embedded import ingest
from keyart.etl.generator import generate
from keyart.query.results import Estimate
from keyart.store.consumer import SnapshotConsumer
from keyart.store.model import Snapshot
from keyart.store.producer import SnapshotProducer, build_snapshot
from keyart.warehouse.layout import Version, Warehouse

# the raw contract's rules, restated independently of keyart.etl.rules
_VALID_TITLES = """
    SELECT DISTINCT title_id FROM read_parquet('{titles}')
    WHERE title_id IS NOT NULL AND name IS NOT NULL
      AND kind IN ('series', 'film', 'live', 'game')
"""
_VALID_ASSETS = f"""
    SELECT DISTINCT asset_id FROM read_parquet('{{assets}}')
    WHERE asset_id IS NOT NULL AND title_id IS NOT NULL AND name IS NOT NULL
      AND asset_type IN ('artwork', 'video') AND title_id IN ({_VALID_TITLES})
"""
_CLEAN_IMPRESSIONS = f"""
    WITH valid AS (
        SELECT * FROM read_parquet('{{impressions}}')
        WHERE event_time IS NOT NULL AND member_id IS NOT NULL AND asset_id IS NOT NULL
          AND regexp_full_match(coalesce(country, ''), '[A-Z][A-Z]')
          AND asset_id IN ({_VALID_ASSETS})
    )
    SELECT asset_id, member_id, country FROM valid WHERE impression_id IS NULL
    UNION ALL
    SELECT any_value(asset_id ORDER BY event_time, member_id, asset_id, country),
           any_value(member_id ORDER BY event_time, member_id, asset_id, country),
           any_value(country ORDER BY event_time, member_id, asset_id, country)
    FROM valid WHERE impression_id IS NOT NULL GROUP BY impression_id
"""


@dataclass(frozen=True)
class Built:
    """A tiny warehouse built by the real ETL and its published, loaded snapshot."""

    raw: Path
    version: Version
    snapshot: Snapshot
    con: duckdb.DuckDBPyConnection


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("etl-snapshot")
    raw, wh = root / "raw", root / "wh"
    generate("tiny", raw, seed=7)
    ingest(raw, wh, EtlSettings(), progress=False, publish_snapshot=False)
    version = Warehouse(wh).current()
    SnapshotProducer(root / "snapshots").publish(version)
    snapshot = SnapshotConsumer(root / "snapshots").load()
    return Built(raw, version, snapshot, duckdb.connect())


def _fmt(sql: str, built: Built) -> str:
    for table in ("titles", "assets", "impressions"):
        single = built.raw / f"{table}.parquet"
        where = single if single.exists() else built.raw / table / "*.parquet"
        sql = sql.replace("{" + table + "}", str(where))
    return sql


def _within(estimate: Estimate, exact: int) -> bool:
    return estimate.lower <= exact <= estimate.upper


def test_loaded_snapshot_is_what_the_producer_built(built: Built) -> None:
    again = build_snapshot(built.version, built.snapshot.version, built.snapshot.created_at)
    assert again == built.snapshot
    assert built.snapshot.warehouse_version == built.version.name


def test_catalog_matches_the_valid_raw_dimensions(built: Built) -> None:
    titles = {r[0] for r in built.con.sql(_fmt(_VALID_TITLES, built)).fetchall()}
    assets = {r[0] for r in built.con.sql(_fmt(_VALID_ASSETS, built)).fetchall()}
    assert set(built.snapshot.titles) == titles
    assert set(built.snapshot.assets) == assets
    assert len(built.snapshot.title_order) == len(titles) > 5


def test_asset_impressions_match_the_raw_events(built: Built) -> None:
    truth = {
        aid: (n, d, countries)
        for aid, n, d, countries in built.con.sql(
            "SELECT asset_id, count(*), count(DISTINCT member_id),"
            " list_sort(list_distinct(list(country)))"
            f" FROM ({_fmt(_CLEAN_IMPRESSIONS, built)}) GROUP BY 1"
        ).fetchall()
    }
    assert len(truth) > 20
    misses = 0
    for aid in built.snapshot.assets:
        n, distinct, countries = truth.get(aid, (0, 0, []))
        values = built.snapshot.asset_alltime[aid]
        assert values.impressions == n, aid
        assert built.snapshot.asset_countries[aid] == tuple(countries), aid
        misses += not _within(values.unique_impressions, distinct)
    assert misses <= 0.05 * len(built.snapshot.assets)


def test_plays_and_titles_match_the_clean_events(built: Built) -> None:
    imps, plays = built.version.events_glob("impressions"), built.version.events_glob("plays")
    asset_plays = {
        r[0]: r[1:]
        for r in built.con.sql(
            "SELECT asset_id, count(*), sum(duration_s), count(*) FILTER (WHERE engaged),"
            f" count(DISTINCT member_id) FROM read_parquet('{plays}') GROUP BY 1"
        ).fetchall()
    }
    assert sum(v[0] for v in asset_plays.values()) > 50
    misses = groups = 0
    for aid in built.snapshot.assets:
        n, seconds, engaged, distinct = asset_plays.get(aid, (0, 0, 0, 0))
        values = built.snapshot.asset_alltime[aid]
        assert (values.qualified_plays, values.play_seconds, values.engaged_plays) == (
            n,
            seconds,
            engaged,
        ), aid
        groups += 1
        misses += not _within(values.unique_players, distinct)

    title_truth = {
        r[0]: r[1:]
        for r in built.con.sql(
            f"""
            WITH i AS (SELECT title_id, count(*) n, count(DISTINCT member_id) d,
                              list_sort(list_distinct(list(country))) c
                       FROM read_parquet('{imps}') GROUP BY 1),
                 p AS (SELECT title_id, count(*) n, sum(duration_s) s,
                              count(*) FILTER (WHERE engaged) e, count(DISTINCT member_id) d
                       FROM read_parquet('{plays}') GROUP BY 1)
            SELECT coalesce(i.title_id, p.title_id), coalesce(i.n, 0), coalesce(i.d, 0),
                   coalesce(i.c, []), coalesce(p.n, 0), coalesce(p.s, 0), coalesce(p.e, 0),
                   coalesce(p.d, 0)
            FROM i FULL JOIN p ON i.title_id = p.title_id
            """
        ).fetchall()
    }
    for tid in built.snapshot.titles:
        imp_n, imp_d, countries, ply_n, ply_s, ply_e, ply_d = title_truth.get(
            tid, (0, 0, [], 0, 0, 0, 0)
        )
        values = built.snapshot.title_alltime[tid]
        assert values.impressions == imp_n, tid
        assert (values.qualified_plays, values.play_seconds, values.engaged_plays) == (
            ply_n,
            ply_s,
            ply_e,
        ), tid
        assert built.snapshot.title_countries[tid] == tuple(countries), tid
        assert built.snapshot.title_filter_options[tid].countries == tuple(countries), tid
        groups += 2
        misses += not _within(values.unique_impressions, imp_d)
        misses += not _within(values.unique_players, ply_d)
    assert misses <= 0.05 * groups


def test_affinities_match_the_members_seen(built: Built) -> None:
    imps, plays = built.version.events_glob("impressions"), built.version.events_glob("plays")
    per_title = {
        tid: tuple(labels)
        for tid, labels in built.con.sql(
            f"""
            SELECT title_id, list_sort(list_distinct(flatten(list(affinities))))
            FROM (SELECT title_id, affinities FROM read_parquet('{imps}')
                  UNION ALL SELECT title_id, affinities FROM read_parquet('{plays}'))
            GROUP BY 1
            """
        ).fetchall()
    }
    for tid in built.snapshot.titles:
        assert built.snapshot.title_filter_options[tid].affinities == per_title.get(tid, ()), tid
    every = sorted({label for labels in per_title.values() for label in labels})
    assert built.snapshot.affinities == tuple(every)
    assert len(every) >= 5
