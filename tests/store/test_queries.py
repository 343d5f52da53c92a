"""Snapshot lookups: titles and assets by id, a title's assets by type, and the titles page
with case-insensitive search and Relay cursors, checked against the hand-built inputs."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from keyart.errors import BadUserInput
from keyart.store import queries
from keyart.store.model import Snapshot
from keyart.store.producer import build_snapshot
from tests.store.handmade import Handmade, Truth, build


@pytest.fixture(scope="module")
def snap(handmade: Handmade) -> Snapshot:
    return build_snapshot(handmade.version, "s000001-20240301T000000Z", datetime.now(UTC))


def _expected_order(titles: dict[str, dict[str, object]], search: str | None = None) -> list[str]:
    rows = [
        (str(r["name"]).lower(), str(r["name"]), tid)
        for tid, r in titles.items()
        if search is None or search.lower() in str(r["name"]).lower()
    ]
    return [tid for *_, tid in sorted(rows)]


def _launched(row: dict[str, object]) -> date:
    """A handmade title's launch date (for titles that have one)."""
    launched = row["launch_date"]
    assert isinstance(launched, date)
    return launched


def test_title_and_asset_by_id(snap: Snapshot, handmade: Handmade) -> None:
    for tid, row in handmade.titles.items():
        info = queries.title(snap, tid)
        assert info is not None and info.name == row["name"]
    for aid, row in handmade.assets.items():
        asset = queries.asset(snap, aid)
        assert asset is not None and asset.title_id == row["title_id"]
    assert queries.title(snap, "nope") is None
    assert queries.asset(snap, "nope") is None


def test_title_assets_by_type(snap: Snapshot, handmade: Handmade) -> None:
    for tid in handmade.titles:
        mine = [a for a in handmade.assets.values() if a["title_id"] == tid]
        for kind in (None, "artwork", "video"):
            got = [a.id for a in queries.title_assets(snap, tid, kind)]
            want = sorted(
                (str(a["asset_type"]), str(a["asset_id"]))
                for a in mine
                if kind is None or a["asset_type"] == kind
            )
            assert got == [aid for _, aid in want]
    assert queries.title_assets(snap, "nope") == []


def test_alltime_and_availability_lookups(snap: Snapshot, handmade: Handmade) -> None:
    for aid in handmade.assets:
        truth = handmade.asset_truth.get(aid, Truth())
        assert queries.asset_alltime(snap, aid).impressions == truth.impressions
        assert queries.asset_availability(snap, aid) == tuple(sorted(truth.countries))
    for tid in handmade.titles:
        truth = handmade.title_truth.get(tid, Truth())
        assert queries.title_alltime(snap, tid).qualified_plays == truth.qualified_plays
        assert queries.title_availability(snap, tid) == tuple(sorted(truth.countries))
    assert queries.asset_alltime(snap, "nope").impressions == 0
    assert queries.asset_availability(snap, "nope") == ()


@pytest.mark.parametrize("first", [1, 2, 3, 5, 100])
@pytest.mark.parametrize("search", [None, "ALPHA", "a", "zz-none"])
def test_paging_walks_every_match_once_in_order(
    snap: Snapshot, handmade: Handmade, first: int, search: str | None
) -> None:
    expected = _expected_order(handmade.titles, search)
    seen: list[str] = []
    after = None
    for _ in range(100):
        page = queries.titles_page(snap, first=first, after=after, search=search)
        assert page.total_count == len(expected)
        assert len(page.edges) <= first
        seen += [e.node.id for e in page.edges]
        if page.edges:
            assert page.end_cursor == page.edges[-1].cursor
        else:
            assert page.end_cursor is None
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert seen == expected


def test_search_is_case_insensitive_substring(snap: Snapshot) -> None:
    page = queries.titles_page(snap, search="aLp")
    assert sorted(e.node.name for e in page.edges) == ["Alpha", "alpha"]
    assert page.total_count == 2 and not page.has_next_page


def test_first_zero_and_negative(snap: Snapshot) -> None:
    page = queries.titles_page(snap, first=0)
    assert page.edges == () and page.has_next_page and page.total_count == len(snap.titles)
    with pytest.raises(BadUserInput, match="first"):
        queries.titles_page(snap, first=-1)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        base64.urlsafe_b64encode(b"title:not json").decode(),
        base64.urlsafe_b64encode(b'other:["a", "t1"]').decode(),
        base64.urlsafe_b64encode(b"title:[1, 2]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_bad_cursor_is_bad_user_input(snap: Snapshot, cursor: str) -> None:
    with pytest.raises(BadUserInput, match="invalid cursor"):
        queries.titles_page(snap, after=cursor)


def test_cursor_survives_a_new_version_without_its_title(tmp_path: Path) -> None:
    old = build(tmp_path / "wh", n_titles=8, silent_assets=0)
    old_snap = build_snapshot(old.version, "s000001-20240301T000000Z", datetime.now(UTC))
    page = queries.titles_page(old_snap, first=3)
    assert page.end_cursor is not None
    gone = page.edges[-1].node.id
    # the next version has fewer titles: the cursor's own title is gone
    new = build(tmp_path / "wh", n_titles=8, silent_assets=0)
    dims = new.version.dim_path("titles")
    table = pq.read_table(dims)
    pq.write_table(table.filter(pc.field("title_id") != gone), dims)
    assets = new.version.dim_path("assets")
    pq.write_table(pq.read_table(assets).filter(pc.field("title_id") != gone), assets)
    for name in ("assets", "titles"):
        path = new.version.alltime_path(name)
        pq.write_table(pq.read_table(path).filter(pc.field("title_id") != gone), path)
    new_snap = build_snapshot(new.version, "s000002-20240302T000000Z", datetime.now(UTC))
    assert gone not in new_snap.titles
    rest = queries.titles_page(new_snap, first=100, after=page.end_cursor)
    expected = [t for t in _expected_order(old.titles) if t != gone][2:]
    assert [e.node.id for e in rest.edges] == expected


def test_titles_page_criteria_and_launch_order(snap: Snapshot, handmade: Handmade) -> None:
    """Kinds and genres are any-of, launch bounds inclusive (titles without a launch date
    left out by either); the launch order puts the newest first and undated titles last,
    and its cursors walk it page by page."""
    rows = handmade.titles
    dated = sorted({_launched(r) for r in rows.values() if r["launch_date"] is not None})
    low = dated[1]
    criteria = queries.TitleCriteria(
        kinds=frozenset({"series", "film"}), genres=frozenset({"anime"}), launched_after=low
    )
    want = [
        tid
        for tid in _expected_order(rows)
        if rows[tid]["kind"] in ("series", "film")
        and "anime" in cast("list[str]", rows[tid]["genres"])
        and rows[tid]["launch_date"] is not None
        and _launched(rows[tid]) >= low
    ]
    page = queries.titles_page(snap, 100, criteria=criteria)
    assert [e.node.id for e in page.edges] == want and page.total_count == len(want)
    assert queries.matching_titles(snap, criteria) == want

    def newest_first(tid: str) -> tuple[bool, int]:
        launched = rows[tid]["launch_date"]
        return (launched is None, 0 if launched is None else -_launched(rows[tid]).toordinal())

    expected = sorted(_expected_order(rows), key=newest_first)  # stable: name order on ties
    assert any(rows[t]["launch_date"] is None for t in expected)
    seen: list[str] = []
    after = None
    while True:
        page = queries.titles_page(snap, 2, after, order_by="launch_date_desc")
        seen += [e.node.id for e in page.edges]
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert seen == expected
    with pytest.raises(BadUserInput, match="this orderBy"):
        queries.titles_page(snap, 2, after, order_by="name")
    with pytest.raises(BadUserInput, match="later than launchedBefore"):
        queries.TitleCriteria(launched_after=dated[2], launched_before=dated[1])
