"""The per-snapshot memo: a value is built once per snapshot and never crosses snapshots."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from keyart.config import ApiSettings
from keyart.resolvers.context import RequestContext, SnapshotMemo
from keyart.store.model import Snapshot


def _snapshot(version: str) -> Snapshot:
    empty: dict[str, Any] = {}
    return Snapshot(
        version=version,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        warehouse_version="w",
        titles=empty,
        assets=empty,
        asset_alltime=empty,
        title_alltime=empty,
        asset_countries=empty,
        title_countries=empty,
        title_filter_options=empty,
        affinities=(),
        title_order=(),
    )


def _context(snapshot: Snapshot, memo: SnapshotMemo | None) -> RequestContext:
    return RequestContext(
        settings=ApiSettings(),
        loader=None,  # type: ignore[arg-type]  # the memo needs no loader
        snapshot_or_none=snapshot,
        memo=memo,
    )


def test_a_value_is_built_once_per_snapshot_and_kind() -> None:
    snapshot = _snapshot("s1")
    memo = SnapshotMemo(snapshot)
    built: list[str] = []

    def build(label: str) -> Any:
        built.append(label)
        return object()

    first = _context(snapshot, memo).shared("asset", "a1", lambda: build("asset a1"))
    again = _context(snapshot, memo).shared("asset", "a1", lambda: build("asset a1"))
    other_kind = _context(snapshot, memo).shared("title", "a1", lambda: build("title a1"))
    assert first is again and other_kind is not first
    assert built == ["asset a1", "title a1"]


def test_a_memo_of_another_snapshot_or_none_is_not_used() -> None:
    stale = SnapshotMemo(_snapshot("s1"))
    stale.get("asset", "a1", lambda: "old")
    current = _snapshot("s2")
    assert _context(current, stale).shared("asset", "a1", lambda: "new") == "new"
    assert _context(current, None).shared("asset", "a1", lambda: "new") == "new"
    assert stale.get("asset", "a1", lambda: "never") == "old"
