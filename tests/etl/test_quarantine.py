"""Quarantine reasons, duplicates and members without a profile, against hand-labelled rows."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from keyart.etl.rules import DUPLICATE, classify_sql, reasons_for
from keyart.warehouse import Warehouse

from .conftest import Ingest
from .rawdata import Raw, at


def labelled_world() -> tuple[Raw, dict[str, Counter[str]], dict[str, int]]:
    """A raw world with bad rows, and per table the reasons they must be quarantined for
    plus the number of duplicates to drop."""
    raw = Raw()
    bad: dict[str, Counter[str]] = {t: Counter() for t in ("titles", "assets", "members")}
    bad |= {"impressions": Counter(), "playbacks": Counter()}
    raw.title("t1")
    raw.title("t2", kind="film")
    raw.title("t3", kind="podcast")
    bad["titles"]["bad_kind"] += 1
    raw.title("t4", name=None)
    bad["titles"]["null_required"] += 1
    raw.title("t1", name="again")
    bad["titles"]["duplicate_key"] += 1
    raw.asset("a1", "t1")
    raw.asset("a2", "t2", "video")
    raw.asset("a3", "t1", "poster")
    bad["assets"]["bad_asset_type"] += 1
    raw.asset("a4", "t3")  # its title is quarantined, so it is unknown
    bad["assets"]["unknown_title"] += 1
    raw.asset("a5", "t1", name=None)
    bad["assets"]["null_required"] += 1
    raw.member(1, "US", ["x"])
    raw.member(2, "FR", ["y", "x"])
    raw.member(None, "US")
    bad["members"]["null_member"] += 1
    raw.member(3, "us", ["z"])
    bad["members"]["bad_country"] += 1
    raw.member(4, None)
    bad["members"]["bad_country"] += 1
    raw.member(2, "FR", ["other"])
    bad["members"]["duplicate_key"] += 1

    good = at(0, 10)
    raw.imp(1, "a1", good)
    raw.imp(2, "a2", good, "FR")
    raw.imp(3, "a1", good)  # member 3's profile was quarantined: kept, no profile
    raw.imp(99, "a1", good)  # no profile
    raw.imp(1, "a1", None)
    bad["impressions"]["null_event_time"] += 1
    raw.imp(None, "a1", good)
    bad["impressions"]["null_member"] += 1
    raw.imp(1, None, good)
    bad["impressions"]["null_required"] += 1
    for country in ("usa", "U1", None, "u", "ÉS"):
        raw.imp(1, "a1", good, country)
        bad["impressions"]["bad_country"] += 1
    for asset in ("nope", "a3", "a4"):  # unknown, or quarantined assets
        raw.imp(1, asset, good)
        bad["impressions"]["unknown_asset"] += 1
    # duplicates: a valid id seen three times keeps one; an invalid copy is quarantined
    for _ in range(3):
        raw.imp(2, "a1", at(0, 11), impression_id="dup")
    raw.imp(2, "nope", at(0, 11), impression_id="dup")
    bad["impressions"]["unknown_asset"] += 1
    raw.imp(1, "a1", at(0, 12), impression_id=None)
    raw.imp(1, "a1", at(0, 12), impression_id=None)  # NULL ids are never duplicates

    raw.play(1, "t1", at(0, 13), 600)
    raw.play(99, "t1", at(0, 13), 600)  # no profile
    raw.play(1, "t1", None)
    bad["playbacks"]["null_event_time"] += 1
    raw.play(None, "t1", at(0, 13))
    bad["playbacks"]["null_member"] += 1
    raw.play(1, None, at(0, 13))
    raw.play(1, "t1", at(0, 13), None)
    bad["playbacks"]["null_required"] += 2
    raw.play(1, "t1", at(0, 13), -5)
    bad["playbacks"]["negative_duration"] += 1
    raw.play(1, "zz", at(0, 13))
    raw.play(1, "t3", at(0, 13))
    bad["playbacks"]["unknown_title"] += 2
    raw.play(2, "t2", at(0, 14), 700, playback_id="pd")
    raw.play(2, "t2", at(0, 14), 700, playback_id="pd")
    return raw, bad, {"impressions": 2, "playbacks": 1}


def test_every_reason_is_counted_and_written(run_ingest: Ingest, tmp_path: Path) -> None:
    raw, bad, dups = labelled_world()
    report = run_ingest(raw)
    for table, reasons in bad.items():
        assert report.quarantined[table] == {r: n for r, n in reasons.items()}, table
        assert set(reasons) <= set(reasons_for(table))
        n = len(getattr(raw, table))
        assert report.rows_read[table] == n
        assert report.kept[table] + sum(reasons.values()) + dups.get(table, 0) == n
        assert report.duplicates.get(table, 0) == dups.get(table, 0)
    # every quarantined row is in the quarantine with its original columns and reason
    folder = Path(report.quarantine_dir or "")
    assert folder.parent == Warehouse(tmp_path / "wh").quarantine_dir
    for table, reasons in bad.items():
        written = pq.read_table(folder / f"{table}.parquet")
        assert written.column_names[-1] == "reason"
        assert Counter(written.column("reason").to_pylist()) == reasons


def test_members_without_profile_are_kept_and_counted(run_ingest: Ingest, tmp_path: Path) -> None:
    raw, _, _ = labelled_world()
    report = run_ingest(raw)
    profiles = {1, 2}  # the members rows that survive
    version = Warehouse(tmp_path / "wh").current()
    events = duckdb.execute(
        f"SELECT member_id, affinities FROM read_parquet('{version.events_glob('impressions')}')"
    ).fetchall()
    assert (
        report.events_without_profile["impressions"]
        == sum(1 for m, _ in events if m not in profiles)
        == 2
    )
    assert all(labels == [] for m, labels in events if m not in profiles)
    # member 2 is delivered twice: the last delivered row (labels "other") wins
    assert {m: labels for m, labels in events if m in profiles} == {1: ["x"], 2: ["other"]}
    assert report.conflicts == {
        "titles": {"keys": 1, "examples": ["t1"]},
        "members": {"keys": 1, "examples": ["2"]},
    }
    assert report.events_without_profile["playbacks"] == 1
    assert len(events) == report.kept["impressions"]


def test_dimensions_hold_only_clean_rows(run_ingest: Ingest, tmp_path: Path) -> None:
    raw, _, _ = labelled_world()
    run_ingest(raw)
    version = Warehouse(tmp_path / "wh").current()
    titles = pq.read_table(version.dim_path("titles")).to_pylist()
    # t1 is delivered twice: the last delivered row (named "again") wins, as in the truth
    assert [(t["title_id"], t["name"]) for t in titles] == [("t1", "again"), ("t2", "T t2")]
    truth = raw.truth()
    assert {t["title_id"]: t["name"] for t in titles} == {
        tid: row.name for tid, row in truth.titles.items()
    }
    assets = pq.read_table(version.dim_path("assets")).column("asset_id").to_pylist()
    assert assets == ["a1", "a2"]


def noisy_world(seed: int) -> Raw:
    """Random rows with many repeated ids and keys: copies that differ, invalid copies,
    NULL ids, and repeats of dimension keys."""
    rng = random.Random(seed)
    raw = Raw()
    for t in range(4):
        raw.title(f"t{t}", name=rng.choice(["x", "y", None]))
        for a in range(3):
            raw.asset(f"t{t}a{a}", f"t{t}", rng.choice(["artwork", "video", "poster"]))
    for m in range(1, 30):
        for _ in range(rng.choice([1, 1, 2, 3])):  # repeated member keys
            raw.member(rng.choice([m, m, None]), rng.choice(["US", "FR", "fr"]), ["a"])
    assets = [a["asset_id"] for a in raw.assets] + ["nope"]
    ids = [f"i{k}" for k in range(60)] + [None]
    for _ in range(400):
        when = rng.choice([at(0, rng.randrange(48)), None])
        raw.imp(
            rng.choice([1, 2, 3, None]),
            rng.choice(assets),
            when,
            rng.choice(["US", "FR", "xx"]),
            impression_id=rng.choice(ids),
        )
    pids = [f"p{k}" for k in range(40)] + [None]
    for _ in range(200):
        raw.play(
            rng.choice([1, 2, None]),
            rng.choice(["t0", "t1", "t2", "zz", None]),
            at(0, rng.randrange(48)),
            rng.choice([130, 600, -1, None]),
            rng.choice([None, "t0a0", "t1a1"]),
            playback_id=rng.choice(pids),
        )
    return raw


@pytest.mark.parametrize("seed", [1, 2])
def test_embedded_classification_equals_portable_sql(
    run_ingest: Ingest, tmp_path: Path, seed: int
) -> None:
    # the embedded engine ranks only repeated ids; the portable SQL (which Spark runs)
    # ranks every row: both must keep, drop and quarantine the same rows
    raw = noisy_world(seed)
    report = run_ingest(raw)
    root = tmp_path / "raw"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("titles", "assets", "members", "impressions", "playbacks"):
        path = root / f"{name}.parquet"
        con.execute(
            f"CREATE VIEW raw_{name} AS SELECT *, filename AS _src_file, file_row_number AS"
            f" _src_row FROM read_parquet('{path}', filename = true, file_row_number = true)"
        )
    refs = {"titles": {}, "assets": {"titles": "dim_titles"}, "members": {}}
    refs |= {"impressions": {"assets": "dim_assets"}, "playbacks": {"titles": "dim_titles"}}
    for name, ref in refs.items():
        con.execute(f"CREATE TABLE cls_{name} AS {classify_sql(name, f'raw_{name}', ref)}")
        if name in ("titles", "assets"):
            con.execute(f"CREATE TABLE dim_{name} AS SELECT * FROM cls_{name} WHERE reason IS NULL")
        counts = dict(con.execute(f"SELECT reason, count(*) FROM cls_{name} GROUP BY 1").fetchall())
        assert report.kept[name] == counts.pop(None, 0), name
        assert report.duplicates.get(name, 0) == counts.pop(DUPLICATE, 0), name
        assert report.quarantined[name] == dict(sorted(counts.items())), name
    assert sum(report.duplicates.values()) > 10
    assert sum(report.quarantined["members"].values()) > 0
    # the copy kept of each repeated impression id is the same (events hold kept rows)
    version = Warehouse(tmp_path / "wh").current()
    kept = con.execute(
        "SELECT impression_id, event_time::TIMESTAMPTZ, member_id, asset_id, country"
        " FROM cls_impressions WHERE reason IS NULL ORDER BY ALL"
    ).fetchall()
    events = con.execute(
        "SELECT event_time, member_id, asset_id, country FROM"
        f" read_parquet('{version.events_glob('impressions')}') ORDER BY ALL"
    ).fetchall()
    assert sorted(row[1:] for row in kept) == events
