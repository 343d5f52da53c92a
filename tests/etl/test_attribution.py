"""Attribution of qualified plays (DESIGN §2): window edges, minimum duration, explicit
asset, ties, play day and country; checked in the clean plays table and the rollup."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from keyart.config import EtlSettings
from keyart.warehouse import Warehouse

from .conftest import Ingest
from .rawdata import Raw, at


def world() -> Raw:
    raw = Raw()
    raw.title("t1")
    raw.title("t2")
    for a in ("a1", "a2", "a3"):
        raw.asset(a, "t1")
    raw.asset("b1", "t2")
    for m in range(1, 20):
        raw.member(m, "US", ["fans"])
    return raw


def plays(tmp_path: Path) -> dict[int, tuple[str, str, str]]:
    """member -> (day, asset, country) of each attributed play (one play per member)."""
    version = Warehouse(tmp_path / "wh").current()
    rows = duckdb.execute(
        "SELECT member_id, day::VARCHAR, asset_id, country FROM "
        f"read_parquet('{version.events_glob('plays')}')"
    ).fetchall()
    assert len({r[0] for r in rows}) == len(rows)
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_attribution_rules(run_ingest: Ingest, tmp_path: Path) -> None:
    raw = world()
    p = at(1, 12)
    # 1: impression exactly 24h before the play: inside (inclusive)
    raw.imp(1, "a1", p - timedelta(hours=24), "FR")
    raw.play(1, "t1", p)
    # 2: one microsecond more than 24h: outside -> unattributed
    raw.imp(2, "a1", p - timedelta(hours=24, microseconds=1))
    raw.play(2, "t1", p)
    # 3: impression at the play instant: inside
    raw.imp(3, "a2", p, "BR")
    raw.play(3, "t1", p)
    # 4: impression just after the play: outside
    raw.imp(4, "a1", p + timedelta(microseconds=1))
    raw.play(4, "t1", p)
    # 5: duration 120 qualifies, 6: 119 does not
    raw.imp(5, "a1", p - timedelta(hours=1))
    raw.play(5, "t1", p, 120)
    raw.imp(6, "a1", p - timedelta(hours=1))
    raw.play(6, "t1", p, 119)
    # 7: most recent impression of the title wins
    raw.imp(7, "a1", p - timedelta(hours=5), "DE")
    raw.imp(7, "a2", p - timedelta(hours=2), "IT")
    raw.play(7, "t1", p)
    # 8: explicit asset honoured although another asset was seen later
    raw.imp(8, "a1", p - timedelta(hours=5), "DE")
    raw.imp(8, "a3", p - timedelta(hours=3), "ES")
    raw.imp(8, "a1", p - timedelta(hours=4), "PT")
    raw.imp(8, "a2", p - timedelta(hours=1), "IT")
    raw.play(8, "t1", p, asset_id="a1")
    # 9: explicit asset never seen in the window -> general rule
    raw.imp(9, "a1", p - timedelta(hours=30))
    raw.imp(9, "a2", p - timedelta(hours=2), "IT")
    raw.play(9, "t1", p, asset_id="a1")
    # 10: tie at the same instant -> smaller asset_id
    raw.imp(10, "a3", p - timedelta(hours=2), "ES")
    raw.imp(10, "a2", p - timedelta(hours=2), "IT")
    raw.play(10, "t1", p)
    # 11: impressions of another title do not count
    raw.imp(11, "b1", p - timedelta(hours=1))
    raw.play(11, "t1", p)
    # 12: another member's impression does not count
    raw.imp(13, "a1", p - timedelta(hours=1))
    raw.play(12, "t1", p)
    # 14: play just after midnight counts on its own day, in the impression's country
    raw.imp(14, "a1", at(1, 23), "JP")
    raw.play(14, "t1", at(2, 0.5))
    report = run_ingest(raw)
    got = plays(tmp_path)
    d1, d2 = str(at(1).date()), str(at(2).date())
    assert got == {
        1: (d1, "a1", "FR"),
        3: (d1, "a2", "BR"),
        5: (d1, "a1", "US"),
        7: (d1, "a2", "IT"),
        8: (d1, "a1", "PT"),
        9: (d1, "a2", "IT"),
        10: (d1, "a2", "IT"),
        14: (d2, "a1", "JP"),
    }
    qualified = [p for p in raw.playbacks if p["duration_s"] >= 120]
    assert report.qualified_plays == len(qualified) == 12
    assert report.attributed_plays == 8
    assert report.unattributed_plays == 4  # members 2, 4, 11, 12


@pytest.mark.parametrize("hours", [1, 48])
def test_window_and_minimum_follow_settings(run_ingest: Ingest, tmp_path: Path, hours: int) -> None:
    raw = world()
    p = at(3, 12)
    raw.imp(1, "a1", p - timedelta(hours=hours))
    raw.play(1, "t1", p, 300)
    raw.imp(2, "a1", p - timedelta(hours=hours, seconds=1))
    raw.play(2, "t1", p, 300)
    raw.imp(3, "a1", p - timedelta(minutes=5))
    raw.play(3, "t1", p, 299)
    settings = EtlSettings(attribution_hours=hours, qualify_seconds=300, engaged_seconds=300)
    report = run_ingest(raw, settings=settings)
    assert set(plays(tmp_path)) == {1}
    assert (report.qualified_plays, report.unattributed_plays) == (2, 1)
