"""The snapshot blob format: a Snapshot as gzip-compressed, column-oriented JSON.

Columns (one list per field) keep the file small and let `json.loads`, a C parser, do the
bulk of the decoding; country and affinity sets are hex bitmasks over sorted vocabularies,
so that they parse fast and equal sets share one tuple in memory after loading. Titles are
stored in page order and assets grouped by title in each title's `asset_ids` order, so
neither order needs a list of its own. The optional `insights` section holds the all-time
outliers and appeal; a blob without it (written before insights) gets them computed from
its all-time metrics on load. `gunzip | jq` reads a blob.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from keyart.errors import SnapshotError
from keyart.insights.alltime import TitleOutliers, precompute
from keyart.insights.appeal import Appeal, Verdict
from keyart.insights.measures import InsightMetric
from keyart.insights.peers import PeerTest
from keyart.query.results import Estimate, MetricValues
from keyart.store.model import AssetInfo, FilterOptions, Snapshot, TitleInfo

V = TypeVar("V")

FORMAT = "keyart-snapshot"
FORMAT_VERSION = 1
_COMPRESS_LEVEL = 6  # gzip's default; decompression speed hardly depends on the level

_COUNTS = ("impressions", "qualified_plays", "play_seconds", "engaged_plays")
_ESTIMATES = ("unique_impressions", "unique_players")
_EMPTY = MetricValues()


def encode(snapshot: Snapshot) -> bytes:
    """Serialise a snapshot to blob bytes."""
    _check_consistent(snapshot)
    countries = sorted(
        {c for cs in snapshot.asset_countries.values() for c in cs}
        | {c for cs in snapshot.title_countries.values() for c in cs}
        | {c for fo in snapshot.title_filter_options.values() for c in fo.countries}
    )
    affinities = sorted(
        set(snapshot.affinities)
        | {a for fo in snapshot.title_filter_options.values() for a in fo.affinities}
    )
    country_set = _SetCodec(countries)
    label_set = _SetCodec(affinities)

    titles = [snapshot.titles[t] for t in snapshot.title_order]
    assets = [snapshot.assets[a] for t in titles for a in t.asset_ids]
    no_options = FilterOptions((), ())
    options = [snapshot.title_filter_options.get(t.id, no_options) for t in titles]
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "version": snapshot.version,
        "created_at": snapshot.created_at.isoformat(),
        "warehouse_version": snapshot.warehouse_version,
        "countries": countries,
        "affinity_labels": affinities,
        "affinities": label_set.encode(snapshot.affinities),
        "days": [d.isoformat() for d in snapshot.days],
        "titles": {
            "id": [t.id for t in titles],
            "name": [t.name for t in titles],
            "kind": [t.kind for t in titles],
            "genres": [list(t.genres) for t in titles],
            "launch_date": [
                None if t.launch_date is None else t.launch_date.isoformat() for t in titles
            ],
            "asset_count": [len(t.asset_ids) for t in titles],
            "countries": [
                country_set.encode(snapshot.title_countries.get(t.id, ())) for t in titles
            ],
            "option_countries": [country_set.encode(o.countries) for o in options],
            "option_affinities": [label_set.encode(o.affinities) for o in options],
            **_metric_columns([snapshot.title_alltime.get(t.id, _EMPTY) for t in titles]),
        },
        "assets": {
            "id": [a.id for a in assets],
            "title_id": [a.title_id for a in assets],
            "type": [a.type for a in assets],
            "name": [a.name for a in assets],
            "tags": [list(a.tags) for a in assets],
            "media_url": [a.media_url for a in assets],
            "countries": [
                country_set.encode(snapshot.asset_countries.get(a.id, ())) for a in assets
            ],
            **_metric_columns([snapshot.asset_alltime.get(a.id, _EMPTY) for a in assets]),
        },
        "insights": _insight_columns(snapshot, titles, assets),
    }
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # mtime=0: equal snapshots give equal bytes
    return gzip.compress(text.encode("utf-8"), compresslevel=_COMPRESS_LEVEL, mtime=0)


def _check_consistent(snapshot: Snapshot) -> None:
    if sorted(snapshot.title_order) != sorted(snapshot.titles):
        raise SnapshotError(
            f"snapshot {snapshot.version}: title_order is not a permutation of titles"
        )
    listed = [a for t in snapshot.titles.values() for a in t.asset_ids]
    if sorted(listed) != sorted(snapshot.assets):
        raise SnapshotError(
            f"snapshot {snapshot.version}: titles' asset_ids do not list every asset exactly once"
        )
    for title in snapshot.titles.values():
        for asset_id in title.asset_ids:
            if snapshot.assets[asset_id].title_id != title.id:
                raise SnapshotError(
                    f"snapshot {snapshot.version}: asset {asset_id} is listed under title "
                    f"{title.id} but belongs to {snapshot.assets[asset_id].title_id}"
                )


def _metric_columns(values: Sequence[MetricValues]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {name: [getattr(v, name) for v in values] for name in _COUNTS}
    for name in _ESTIMATES:
        estimates = [getattr(v, name) for v in values]
        columns[name] = [e.value for e in estimates]
        columns[f"{name}_lower"] = [e.lower for e in estimates]
        columns[f"{name}_upper"] = [e.upper for e in estimates]
    return columns


def _insight_columns(
    snapshot: Snapshot, titles: Sequence[TitleInfo], assets: Sequence[AssetInfo]
) -> dict[str, Any]:
    """The all-time insights: one row per outlier, one appeal per asset in asset order."""
    rows = [
        (t.id, test)
        for t in titles
        for tests in snapshot.title_outliers.get(t.id, {}).values()
        for test in tests
    ]
    appeals = [snapshot.asset_appeal.get(a.id) for a in assets]
    return {
        "outliers": {
            "title_id": [tid for tid, _ in rows],
            "asset_id": [t.asset_id for _, t in rows],
            "metric": [t.metric.value for _, t in rows],
            "value": [t.value for _, t in rows],
            "peer_median": [t.peer_median for _, t in rows],
            "log_ratio": [t.log_ratio for _, t in rows],
            "score": [t.score for _, t in rows],
            "p_value": [t.p_value for _, t in rows],
            "peers": [t.peers for _, t in rows],
        },
        "appeal": {
            "verdict": [None if a is None else a.verdict.value for a in appeals],
            "effectiveness": [None if a is None else a.effectiveness for a in appeals],
            "authenticity": [None if a is None else a.authenticity for a in appeals],
        },
    }


def _decode_insights(
    section: Any, asset_ids: list[str]
) -> tuple[Mapping[str, TitleOutliers], Mapping[str, Appeal]]:
    outs = _columns(section["outliers"], "insights.outliers")
    grouped: dict[str, dict[InsightMetric, list[PeerTest]]] = {}
    for tid, aid, metric, value, median, log_ratio, score, p, peers in zip(
        outs["title_id"],
        outs["asset_id"],
        outs["metric"],
        outs["value"],
        outs["peer_median"],
        outs["log_ratio"],
        outs["score"],
        outs["p_value"],
        outs["peers"],
        strict=True,
    ):
        kind = InsightMetric(metric)
        test = PeerTest(aid, kind, value, median, log_ratio, score, p, peers)
        grouped.setdefault(tid, {}).setdefault(kind, []).append(test)
    outliers = {
        tid: MappingProxyType({m: tuple(tests) for m, tests in found.items()})
        for tid, found in grouped.items()
    }
    apps = _columns(section["appeal"], "insights.appeal")
    appeal = {
        aid: Appeal(Verdict(v), eff, auth)
        for aid, v, eff, auth in zip(
            asset_ids, apps["verdict"], apps["effectiveness"], apps["authenticity"], strict=True
        )
        if v is not None
    }
    return MappingProxyType(outliers), MappingProxyType(appeal)


def decode(data: bytes, source: str = "snapshot blob") -> Snapshot:
    """Deserialise blob bytes; SnapshotError naming `source` when they are not a snapshot."""
    try:
        payload = json.loads(gzip.decompress(data))
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise SnapshotError(f"{source} is not a gzip-compressed JSON snapshot: {exc}") from exc
    try:
        with _gc_paused():
            return _decode_payload(payload)
    except SnapshotError as exc:
        raise SnapshotError(f"{source}: {exc}") from exc
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise SnapshotError(f"{source} is malformed: {type(exc).__name__}: {exc}") from exc


def _decode_payload(payload: dict[str, Any]) -> Snapshot:
    if payload.get("format") != FORMAT or payload.get("format_version") != FORMAT_VERSION:
        raise SnapshotError(
            f"unsupported format {payload.get('format')!r} version "
            f"{payload.get('format_version')!r} (expected {FORMAT!r} {FORMAT_VERSION})"
        )
    countries = _strings(payload["countries"], "countries")
    labels = _strings(payload["affinity_labels"], "affinity_labels")
    country_tuple = _SetCodec(countries).decode
    label_tuple = _SetCodec(labels).decode

    tcols = _columns(payload["titles"], "titles")
    acols = _columns(payload["assets"], "assets")

    asset_ids: list[str] = acols["id"]
    assets = {
        aid: AssetInfo(aid, tid, kind, name, tuple(tags), url)
        for aid, tid, kind, name, tags, url in zip(
            asset_ids,
            acols["title_id"],
            acols["type"],
            acols["name"],
            acols["tags"],
            acols["media_url"],
            strict=True,
        )
    }
    if len(assets) != len(asset_ids):
        raise SnapshotError("duplicate asset ids")

    title_ids: list[str] = tcols["id"]
    titles: dict[str, TitleInfo] = {}
    start = 0
    for tid, name, kind, genres, launch, count in zip(
        title_ids,
        tcols["name"],
        tcols["kind"],
        tcols["genres"],
        tcols["launch_date"],
        tcols["asset_count"],
        strict=True,
    ):
        owned = tuple(asset_ids[start : start + count])
        start += count
        if len(owned) != count or any(assets[a].title_id != tid for a in owned):
            raise SnapshotError(f"assets of title {tid} are not stored together")
        titles[tid] = TitleInfo(tid, name, kind, tuple(genres), _date(launch), owned)
    if start != len(asset_ids) or len(titles) != len(title_ids):
        raise SnapshotError("asset rows do not match the titles' asset counts, or duplicate ids")

    option_list = [
        FilterOptions(country_tuple(cs), label_tuple(afs))
        for cs, afs in zip(tcols["option_countries"], tcols["option_affinities"], strict=True)
    ]
    asset_alltime = _frozen(zip(asset_ids, _metric_values(acols), strict=True))
    if "insights" in payload:
        title_outliers, asset_appeal = _decode_insights(payload["insights"], asset_ids)
    else:  # a blob written before insights were stored: compute them from its metrics
        title_outliers, asset_appeal = precompute(
            {t.id: t.asset_ids for t in titles.values()},
            {a.id: a.type for a in assets.values()},
            asset_alltime,
        )
    return Snapshot(
        version=_str(payload["version"], "version"),
        created_at=datetime.fromisoformat(payload["created_at"]),
        warehouse_version=_str(payload["warehouse_version"], "warehouse_version"),
        titles=MappingProxyType(titles),
        assets=MappingProxyType(assets),
        asset_alltime=asset_alltime,
        title_alltime=_frozen(zip(title_ids, _metric_values(tcols), strict=True)),
        asset_countries=_frozen(
            zip(asset_ids, map(country_tuple, acols["countries"]), strict=True)
        ),
        title_countries=_frozen(
            zip(title_ids, map(country_tuple, tcols["countries"]), strict=True)
        ),
        title_filter_options=_frozen(zip(title_ids, option_list, strict=True)),
        affinities=label_tuple(payload["affinities"]),
        title_order=tuple(title_ids),
        title_outliers=title_outliers,
        asset_appeal=asset_appeal,
        # absent from blobs written before the days were kept
        days=tuple(sorted(date.fromisoformat(_str(d, "days")) for d in payload.get("days", []))),
    )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that form no cycles:
    its passes over the growing heap would otherwise cost a third of the decode time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _SetCodec:
    """Codes a sorted set of vocabulary strings as a hex bitmask (bit i = vocabulary[i]).

    One short string per set parses far faster than a list of indexes, and decoding joins
    precomputed tuples for each byte of the mask, sharing equal tuples and strings.
    """

    def __init__(self, vocabulary: list[str]) -> None:
        self._vocabulary = vocabulary
        self._index = {v: i for i, v in enumerate(vocabulary)}
        self._bytes = [
            [tuple(chunk[b] for b in range(len(chunk)) if byte >> b & 1) for byte in range(256)]
            for chunk in (vocabulary[base : base + 8] for base in range(0, len(vocabulary), 8))
        ]
        self._seen: dict[str, tuple[str, ...]] = {"0": ()}

    def encode(self, values: tuple[str, ...]) -> str:
        if list(values) != sorted(set(values)):
            raise SnapshotError(f"label set {values[:10]} is not sorted and distinct")
        mask = 0
        for value in values:
            mask |= 1 << self._index[value]
        return format(mask, "x")

    def decode(self, code: str) -> tuple[str, ...]:
        found = self._seen.get(code)
        if found is None:
            mask = int(code, 16)  # ValueError/TypeError for garbage: a malformed blob
            if mask < 0 or mask >> len(self._vocabulary):
                raise SnapshotError(f"label set {code!r} names labels beyond the vocabulary")
            parts: tuple[str, ...] = ()
            for table in self._bytes:
                if not mask:
                    break
                parts += table[mask & 0xFF]
                mask >>= 8
            found = self._seen[code] = parts
        return found


def _metric_values(cols: Mapping[str, list[Any]]) -> Iterable[MetricValues]:
    return (
        MetricValues(
            impressions=imp,
            unique_impressions=Estimate(ui, ui_lo, ui_hi),
            qualified_plays=qp,
            unique_players=Estimate(up, up_lo, up_hi),
            play_seconds=ps,
            engaged_plays=ep,
        )
        for imp, ui, ui_lo, ui_hi, qp, up, up_lo, up_hi, ps, ep in zip(
            cols["impressions"],
            cols["unique_impressions"],
            cols["unique_impressions_lower"],
            cols["unique_impressions_upper"],
            cols["qualified_plays"],
            cols["unique_players"],
            cols["unique_players_lower"],
            cols["unique_players_upper"],
            cols["play_seconds"],
            cols["engaged_plays"],
            strict=True,
        )
    )


def _columns(section: Any, name: str) -> dict[str, list[Any]]:
    if not isinstance(section, dict) or not all(isinstance(v, list) for v in section.values()):
        raise SnapshotError(f"section {name!r} is not an object of columns")
    return section


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SnapshotError(f"{name!r} is not a list of strings")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise SnapshotError(f"{name!r} is not a string")
    return value


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _frozen(items: Iterable[tuple[str, V]]) -> Mapping[str, V]:
    return MappingProxyType(dict(items))


__all__ = ["FORMAT", "FORMAT_VERSION", "decode", "encode"]
