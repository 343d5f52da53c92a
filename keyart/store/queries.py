"""Lookups the API makes against one snapshot: titles, assets, title pages with search and
Relay cursors, a title's assets, all-time metrics and availability."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass

from keyart.errors import BadUserInput
from keyart.query.results import MetricValues
from keyart.store.model import AssetInfo, Snapshot, TitleInfo

_CURSOR_PREFIX = "title:"
_NO_METRICS = MetricValues()


def title_sort_key(name: str, title_id: str) -> tuple[str, str, str]:
    """The order of the `titles` page: by name ignoring case, then by exact name, then id."""
    return (name.casefold(), name, title_id)


def title(snapshot: Snapshot, title_id: str) -> TitleInfo | None:
    """A title by id; None when the snapshot does not hold it."""
    return snapshot.titles.get(title_id)


def asset(snapshot: Snapshot, asset_id: str) -> AssetInfo | None:
    """An asset by id; None when the snapshot does not hold it."""
    return snapshot.assets.get(asset_id)


def title_assets(
    snapshot: Snapshot, title_id: str, asset_type: str | None = None
) -> list[AssetInfo]:
    """A title's assets in its stable order (type, then id), optionally of one type only
    ("artwork" or "video"); empty for an unknown title."""
    info = snapshot.titles.get(title_id)
    if info is None:
        return []
    assets = [snapshot.assets[a] for a in info.asset_ids]
    if asset_type is None:
        return assets
    return [a for a in assets if a.type == asset_type]


def asset_alltime(snapshot: Snapshot, asset_id: str) -> MetricValues:
    """All-time metrics of an asset (zero when it has no data)."""
    return snapshot.asset_alltime.get(asset_id, _NO_METRICS)


def title_alltime(snapshot: Snapshot, title_id: str) -> MetricValues:
    """All-time metrics of a title, distinct across its assets (zero when it has no data)."""
    return snapshot.title_alltime.get(title_id, _NO_METRICS)


def asset_availability(snapshot: Snapshot, asset_id: str) -> tuple[str, ...]:
    """The sorted countries where an asset had impressions."""
    return snapshot.asset_countries.get(asset_id, ())


def title_availability(snapshot: Snapshot, title_id: str) -> tuple[str, ...]:
    """The sorted countries where any asset of a title had impressions."""
    return snapshot.title_countries.get(title_id, ())


@dataclass(frozen=True, slots=True)
class TitleEdge:
    """One title of a page and the cursor pointing at it."""

    cursor: str
    node: TitleInfo


@dataclass(frozen=True, slots=True)
class TitlePage:
    """A Relay connection page of titles."""

    edges: tuple[TitleEdge, ...]
    has_next_page: bool
    end_cursor: str | None
    total_count: int  # titles matching the search, over all pages


def encode_cursor(info: TitleInfo) -> str:
    """The opaque cursor of a title: its sort position (name and id), so a cursor keeps
    working across snapshot versions even when the title itself is gone."""
    raw = _CURSOR_PREFIX + json.dumps([info.name, info.id], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str) -> tuple[str, str, str]:
    """The sort key a cursor points at; BadUserInput when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError("wrong prefix")
        name, title_id = json.loads(raw[len(_CURSOR_PREFIX) :])
        if not isinstance(name, str) or not isinstance(title_id, str):
            raise ValueError("wrong content")
    except (ValueError, TypeError, UnicodeError, binascii.Error) as exc:
        raise BadUserInput(f"invalid cursor {cursor!r}: not a titles cursor") from exc
    return title_sort_key(name, title_id)


def titles_page(
    snapshot: Snapshot, first: int = 50, after: str | None = None, search: str | None = None
) -> TitlePage:
    """Up to `first` titles in page order after the `after` cursor, optionally only those
    whose name contains `search` (case-insensitive)."""
    if first < 0:
        raise BadUserInput(f"first must be >= 0, got {first}")
    order: Sequence[str] = snapshot.title_order
    titles = snapshot.titles
    if search:
        needle = search.casefold()
        order = [t for t in order if needle in titles[t].name.casefold()]
    start = 0
    if after is not None:
        key = decode_cursor(after)
        start = bisect.bisect_right(
            order, key, key=lambda t: title_sort_key(titles[t].name, titles[t].id)
        )
    chosen = order[start : start + first]
    edges = tuple(TitleEdge(encode_cursor(titles[t]), titles[t]) for t in chosen)
    return TitlePage(
        edges=edges,
        has_next_page=start + first < len(order),
        end_cursor=edges[-1].cursor if edges else None,
        total_count=len(order),
    )


__all__ = [
    "TitleEdge",
    "TitlePage",
    "asset",
    "asset_alltime",
    "asset_availability",
    "decode_cursor",
    "encode_cursor",
    "title",
    "title_alltime",
    "title_assets",
    "title_availability",
    "title_sort_key",
    "titles_page",
]
