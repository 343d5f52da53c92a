"""Snapshots shared between server processes: the blob's columns as memory-mapped Arrow files.

A snapshot blob is column-oriented JSON; decoding it builds every title, asset and metric
as Python objects in each process that loads it. With several server workers on one host
that multiplies the snapshot's memory by the number of workers. So the first process to
load a verified blob writes its columns once as uncompressed Arrow IPC files,

    <map_dir>/<version>-<sha256[:16]>/titles.arrow    one row per title, in page order
    <map_dir>/<version>-<sha256[:16]>/assets.arrow    one row per asset, grouped by title
    <map_dir>/<version>-<sha256[:16]>/outliers.arrow  the all-time outliers, by title
    <map_dir>/<version>-<sha256[:16]>/meta.json       version, vocabularies, days, blob digest

(a folder made under a temporary name and renamed, so it appears whole or not at all),
and every process maps them: the columns live in the OS page cache once, whichever
process reads them. A `Snapshot` over them holds mappings that build a title, asset or
metric object from its row on first access and keep it; only the id → row indexes and the
rows a process has used live in its own memory.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.ipc as ipc

from keyart.errors import SnapshotError
from keyart.insights.alltime import TitleOutliers
from keyart.insights.appeal import Appeal, Verdict
from keyart.insights.measures import InsightMetric
from keyart.insights.peers import PeerTest
from keyart.query.results import Estimate, MetricValues
from keyart.store import blob, files
from keyart.store.model import AssetInfo, FilterOptions, Snapshot, TitleInfo

log = logging.getLogger(__name__)

V = TypeVar("V")

MAPPED_DIR = ".mapped"  # the map folder's name inside a snapshot directory, by default
MAP_FORMAT = "keyart-snapshot-arrow"
MAP_FORMAT_VERSION = 1
_TABLES = ("titles", "assets", "outliers")
_META = "meta.json"
_DIGEST_CHARS = 16


def folder_name(version: str, sha256: str) -> str:
    """The folder of a blob's mapped columns: its version and the start of its digest."""
    return f"{version}-{sha256[:_DIGEST_CHARS]}"


def load(map_dir: Path, version: str, sha256: str, data: bytes, source: str) -> Snapshot:
    """The snapshot of verified blob bytes, over memory-mapped columns in `map_dir` (written
    first when no process has yet). SnapshotError when the blob is not a valid snapshot,
    OSError when `map_dir` cannot be written or read."""
    folder = map_dir / folder_name(version, sha256)
    if (folder / _META).exists():
        try:
            return open_mapped(folder, sha256)
        except SnapshotError as exc:
            # a damaged copy of good data: write it again from the verified blob
            log.warning("rewriting mapped snapshot %s: %s", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
    _write(folder, data, source)
    return open_mapped(folder, sha256)


def _write(folder: Path, data: bytes, source: str) -> None:
    """Check the blob by decoding it fully, then write its columns under a temporary name
    and rename the folder into place (another process may win the race: then keep its)."""
    # every check a decode makes, before anything is written; the insights of a blob
    # written before they were stored are computed by the decode
    decoded = blob.decode(data, source)
    payload = json.loads(gzip.decompress(data))
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}{files.TMP_SUFFIX}")
    tmp.mkdir()
    try:
        titles = [decoded.titles[t] for t in decoded.title_order]
        assets = [decoded.assets[a] for t in titles for a in t.asset_ids]
        insights = blob._insight_columns(decoded, titles, assets)
        appeal = {f"appeal_{k}": v for k, v in insights["appeal"].items()}
        tables = {
            "titles": pa.table(payload["titles"]),
            "assets": pa.table({**payload["assets"], **appeal}),
            "outliers": pa.table(insights["outliers"]),
        }
        for name, table in tables.items():
            with (
                pa.OSFile(str(tmp / f"{name}.arrow"), "wb") as sink,
                ipc.new_file(sink, table.schema) as writer,
            ):
                writer.write_table(table)
        meta = {k: v for k, v in payload.items() if k not in ("titles", "assets", "insights")}
        meta["days"] = [d.isoformat() for d in decoded.days]
        meta["map_format"] = MAP_FORMAT
        meta["map_format_version"] = MAP_FORMAT_VERSION
        meta["blob_sha256"] = _digest_of(data)
        (tmp / _META).write_text(json.dumps(meta), encoding="utf-8")
        for path in tmp.iterdir():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / _META).exists():
                raise
            return  # another process wrote the same columns first
        files.fsync_dir(folder.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _digest_of(data: bytes) -> str:
    return files.sha256_hex(data)


def open_mapped(folder: Path, sha256: str) -> Snapshot:
    """The snapshot over a folder of mapped columns written from the blob of `sha256`;
    SnapshotError when the folder is not that blob's columns."""
    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"cannot read {folder / _META}: {exc}") from exc
    if (
        meta.get("map_format") != MAP_FORMAT
        or meta.get("map_format_version") != MAP_FORMAT_VERSION
        or meta.get("blob_sha256") != sha256
    ):
        raise SnapshotError(f"{folder} does not hold the columns of blob {sha256}")
    try:
        tables = {name: _map_table(folder / f"{name}.arrow") for name in _TABLES}
        return _MappedColumns(meta, tables).snapshot()
    except (OSError, pa.ArrowException, KeyError, ValueError) as exc:
        raise SnapshotError(f"{folder} is unreadable: {type(exc).__name__}: {exc}") from exc


def _map_table(path: Path) -> pa.Table:
    # the table's buffers point into the mapping, which stays open as long as they live
    source = pa.memory_map(str(path), "r")
    return ipc.open_file(source).read_all()


def remove_unused(map_dir: Path, keep: set[str]) -> None:
    """Delete mapped folders of versions not in `keep` (their blobs were pruned); processes
    still mapping one keep reading it (a mapping outlives the file's name)."""
    if not map_dir.is_dir():
        return
    now = time.time()
    for path in map_dir.iterdir():
        if path.name.startswith("."):
            # a folder being written, or left by a process killed while writing it
            try:
                stale = now - path.stat().st_mtime > files.STALE_TMP_SECONDS
            except FileNotFoundError:
                continue
            if stale and path.name.endswith(files.TMP_SUFFIX):
                shutil.rmtree(path, ignore_errors=True)
            continue
        if path.name.rsplit("-", 1)[0] not in keep:
            shutil.rmtree(path, ignore_errors=True)


class _Rows(Mapping[str, V]):
    """A read-only mapping of ids to objects built from their rows on first access."""

    def __init__(self, index: Mapping[str, int], build: Callable[[int], V]) -> None:
        self._index = index
        self._build = build
        self._built: dict[str, V] = {}

    def __getitem__(self, key: str) -> V:
        found = self._built.get(key)
        if found is None:
            found = self._built[key] = self._build(self._index[key])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return key in self._index


class _Column:
    """One Arrow column, read a value at a time."""

    def __init__(self, table: pa.Table, name: str) -> None:
        column = table.column(name)
        # one chunk (as written): its buffers are the mapped file's pages, not a copy
        self._array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()

    def __getitem__(self, row: int) -> Any:
        return self._array[row].as_py()


class _MappedColumns:
    """Builds the Snapshot of one folder's mapped tables."""

    def __init__(self, meta: dict[str, Any], tables: Mapping[str, pa.Table]) -> None:
        self.meta = meta
        self.t = {n: _Column(tables["titles"], n) for n in tables["titles"].column_names}
        self.a = {n: _Column(tables["assets"], n) for n in tables["assets"].column_names}
        self.o = {n: _Column(tables["outliers"], n) for n in tables["outliers"].column_names}
        self.title_ids: list[str] = tables["titles"].column("id").to_pylist()
        self.asset_ids: list[str] = tables["assets"].column("id").to_pylist()
        counts: list[int] = tables["titles"].column("asset_count").to_pylist()
        self.asset_start: list[int] = []
        start = 0
        for count in counts:
            self.asset_start.append(start)
            start += count
        self.asset_count = counts
        self.countries = blob._SetCodec(meta["countries"]).decode
        self.labels = blob._SetCodec(meta["affinity_labels"]).decode
        # the outlier rows of a title are stored together, titles in page order
        self.outlier_rows: dict[str, tuple[int, int]] = {}
        owners: list[str] = tables["outliers"].column("title_id").to_pylist()
        for row, tid in enumerate(owners):
            first, _ = self.outlier_rows.get(tid, (row, row))
            self.outlier_rows[tid] = (first, row + 1)
        verdicts = tables["assets"].column("appeal_verdict")
        self.appealed = [
            aid for aid, v in zip(self.asset_ids, verdicts.to_pylist(), strict=True) if v
        ]

    def snapshot(self) -> Snapshot:
        meta = self.meta
        titles = {tid: row for row, tid in enumerate(self.title_ids)}
        assets = {aid: row for row, aid in enumerate(self.asset_ids)}
        if len(titles) != len(self.title_ids) or len(assets) != len(self.asset_ids):
            raise SnapshotError("duplicate title or asset ids")
        appealed = {aid: assets[aid] for aid in self.appealed}
        outliers = {tid: titles[tid] for tid in self.outlier_rows}
        return Snapshot(
            version=str(meta["version"]),
            created_at=datetime.fromisoformat(meta["created_at"]),
            warehouse_version=str(meta["warehouse_version"]),
            titles=_Rows(titles, self._title),
            assets=_Rows(assets, self._asset),
            asset_alltime=_Rows(assets, lambda row: _metrics(self.a, row)),
            title_alltime=_Rows(titles, lambda row: _metrics(self.t, row)),
            asset_countries=_Rows(assets, lambda row: self.countries(self.a["countries"][row])),
            title_countries=_Rows(titles, lambda row: self.countries(self.t["countries"][row])),
            title_filter_options=_Rows(titles, self._options),
            affinities=self.labels(meta["affinities"]),
            title_order=tuple(self.title_ids),
            title_outliers=_Rows(outliers, self._outliers),
            asset_appeal=_Rows(appealed, self._appeal),
            days=tuple(date.fromisoformat(d) for d in meta["days"]),
        )

    def _title(self, row: int) -> TitleInfo:
        t = self.t
        start = self.asset_start[row]
        launch = t["launch_date"][row]
        return TitleInfo(
            self.title_ids[row],
            t["name"][row],
            t["kind"][row],
            tuple(t["genres"][row]),
            None if launch is None else date.fromisoformat(launch),
            tuple(self.asset_ids[start : start + self.asset_count[row]]),
        )

    def _asset(self, row: int) -> AssetInfo:
        a = self.a
        return AssetInfo(
            self.asset_ids[row],
            a["title_id"][row],
            a["type"][row],
            a["name"][row],
            tuple(a["tags"][row]),
            a["media_url"][row],
        )

    def _options(self, row: int) -> FilterOptions:
        return FilterOptions(
            self.countries(self.t["option_countries"][row]),
            self.labels(self.t["option_affinities"][row]),
        )

    def _appeal(self, row: int) -> Appeal:
        a = self.a
        return Appeal(
            Verdict(a["appeal_verdict"][row]),
            a["appeal_effectiveness"][row],
            a["appeal_authenticity"][row],
        )

    def _outliers(self, row: int) -> TitleOutliers:
        first, end = self.outlier_rows[self.title_ids[row]]
        o = self.o
        grouped: dict[InsightMetric, list[PeerTest]] = {}
        for r in range(first, end):
            kind = InsightMetric(o["metric"][r])
            grouped.setdefault(kind, []).append(
                PeerTest(
                    o["asset_id"][r],
                    kind,
                    o["value"][r],
                    o["peer_median"][r],
                    o["log_ratio"][r],
                    o["score"][r],
                    o["p_value"][r],
                    o["peers"][r],
                )
            )
        return {m: tuple(tests) for m, tests in grouped.items()}


def _metrics(cols: Mapping[str, _Column], row: int) -> MetricValues:
    return MetricValues(
        impressions=cols["impressions"][row],
        unique_impressions=Estimate(
            cols["unique_impressions"][row],
            cols["unique_impressions_lower"][row],
            cols["unique_impressions_upper"][row],
        ),
        qualified_plays=cols["qualified_plays"][row],
        unique_players=Estimate(
            cols["unique_players"][row],
            cols["unique_players_lower"][row],
            cols["unique_players_upper"][row],
        ),
        play_seconds=cols["play_seconds"][row],
        engaged_plays=cols["engaged_plays"][row],
    )


__all__ = ["MAPPED_DIR", "folder_name", "load", "open_mapped", "remove_unused"]
