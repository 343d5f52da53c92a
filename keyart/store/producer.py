"""The snapshot producer: turns a warehouse version's dimensions and all-time aggregates
into an immutable, versioned snapshot blob and announces it atomically."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import datasketches as ds
import pyarrow as pa
import pyarrow.parquet as pq

from keyart import sketches
from keyart.errors import ConfigError, SnapshotError, WarehouseError
from keyart.insights.alltime import precompute
from keyart.query.results import ZERO, Estimate, MetricValues
from keyart.store import blob, files
from keyart.store.model import AssetInfo, FilterOptions, Snapshot, TitleInfo
from keyart.store.queries import title_sort_key
from keyart.warehouse import tables
from keyart.warehouse.layout import Version
from keyart.warehouse.tables import MEASURE_OF

log = logging.getLogger(__name__)


class SnapshotProducer:
    """Publishes snapshots into a blob directory, keeping the newest `keep` blobs."""

    def __init__(self, blob_dir: Path, *, keep: int = 5) -> None:
        if keep < 1:
            raise ConfigError(f"keep must be >= 1 (the announced blob is always kept), got {keep}")
        self.blob_dir = Path(blob_dir)
        self.keep = keep

    def publish(self, version: Version) -> str:
        """Build a snapshot of a warehouse version, write its blob durably, announce it and
        prune old blobs; returns the new snapshot version."""
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        created_at = datetime.now(UTC).replace(microsecond=0)
        name = files.version_name(self._next_seq(), created_at)
        snapshot = build_snapshot(version, name, created_at)
        data = blob.encode(snapshot)
        digest = files.sha256_hex(data)
        file_name = files.blob_name(name)

        # order matters: blob and checksum are durable before the announcement names them
        files.create_durable(self.blob_dir / file_name, data)
        files.write_durable(
            self.blob_dir / files.checksum_name(name),
            files.checksum_line(digest, file_name).encode("utf-8"),
        )
        announcement = files.Announcement(
            version=name,
            file=file_name,
            sha256=digest,
            size=len(data),
            created_at=created_at.isoformat(),
            warehouse_version=version.name,
        )
        files.write_durable(self.blob_dir / files.ANNOUNCE, announcement.to_json().encode())
        log.info(
            "published snapshot %s of warehouse %s (%d titles, %d assets, %d bytes)",
            name,
            version.name,
            len(snapshot.titles),
            len(snapshot.assets),
            len(data),
        )
        self.prune(announced=name)
        return name

    def prune(self, announced: str | None = None) -> list[str]:
        """Delete all but the newest `keep` blobs, never the announced one; returns the
        versions deleted."""
        if announced is None:
            try:
                announced = files.read_announcement(self.blob_dir).version
            except SnapshotError:
                announced = None
        versions = files.list_blob_versions(self.blob_dir)
        doomed = [v for v in versions[: -self.keep] if v != announced]
        for version in doomed:
            # the blob goes first: a checksum without a blob is harmless, the reverse is not
            (self.blob_dir / files.blob_name(version)).unlink(missing_ok=True)
            (self.blob_dir / files.checksum_name(version)).unlink(missing_ok=True)
        files.remove_stale_tmp(self.blob_dir)
        return doomed

    def _next_seq(self) -> int:
        seqs = [files.version_seq(v) for v in files.list_blob_versions(self.blob_dir)]
        # no or a broken announcement: the blobs alone decide
        with contextlib.suppress(SnapshotError):
            seqs.append(files.read_announcement(self.blob_dir).seq)
        return 1 + max(seqs, default=0)


def build_snapshot(version: Version, name: str, created_at: datetime) -> Snapshot:
    """The snapshot of a warehouse version: metadata, all-time metrics estimated from the
    merged sketches, availability, filter options and the all-time insights."""
    lg_k = version.lg_k
    title_rows = _read(version.dim_path("titles"), tables.TITLES)
    asset_rows = _read(version.dim_path("assets"), tables.ASSETS)
    asset_alltime_rows = _read(version.alltime_path("assets"), tables.ALLTIME_ASSETS)
    title_alltime_rows = _read(version.alltime_path("titles"), tables.ALLTIME_TITLES)

    assets: dict[str, AssetInfo] = {}
    for row in asset_rows:
        aid = row["asset_id"]
        if aid in assets:
            raise WarehouseError(f"{version.dim_path('assets')}: duplicate asset_id {aid!r}")
        assets[aid] = AssetInfo(
            id=aid,
            title_id=row["title_id"],
            type=row["asset_type"],
            name=row["name"],
            tags=tuple(row["tags"] or ()),
            media_url=row["media_url"],
        )
    owned: dict[str, list[AssetInfo]] = {}
    for info in assets.values():
        owned.setdefault(info.title_id, []).append(info)

    titles: dict[str, TitleInfo] = {}
    for row in title_rows:
        tid = row["title_id"]
        if tid in titles:
            raise WarehouseError(f"{version.dim_path('titles')}: duplicate title_id {tid!r}")
        mine = sorted(owned.pop(tid, []), key=lambda a: (a.type, a.id))
        titles[tid] = TitleInfo(
            id=tid,
            name=row["name"],
            kind=row["kind"],
            genres=tuple(row["genres"] or ()),
            launch_date=row["launch_date"],
            asset_ids=tuple(a.id for a in mine),
        )
    if owned:
        orphan = next(iter(owned.values()))[0]
        raise WarehouseError(
            f"{version.dim_path('assets')}: asset {orphan.id!r} belongs to title "
            f"{orphan.title_id!r}, which {version.dim_path('titles')} does not hold"
        )

    asset_path, title_path = version.alltime_path("assets"), version.alltime_path("titles")
    asset_alltime: dict[str, MetricValues] = dict.fromkeys(assets, MetricValues())
    asset_countries: dict[str, tuple[str, ...]] = dict.fromkeys(assets, ())
    labels: set[str] = set()
    for row in asset_alltime_rows:
        aid = row["asset_id"]
        asset_info = assets.get(aid)
        if asset_info is None or asset_info.title_id != row["title_id"]:
            raise WarehouseError(
                f"{version.alltime_path('assets')}: asset {aid!r} of title {row['title_id']!r} "
                f"is not in {version.dim_path('assets')}"
            )
        asset_alltime[aid] = _metrics(row, lg_k, f"{asset_path}, asset {aid!r}")
        asset_countries[aid] = _sorted(row["countries"])
        labels.update(row["affinities"] or ())

    title_alltime: dict[str, MetricValues] = dict.fromkeys(titles, MetricValues())
    title_countries: dict[str, tuple[str, ...]] = dict.fromkeys(titles, ())
    options: dict[str, FilterOptions] = dict.fromkeys(titles, FilterOptions((), ()))
    for row in title_alltime_rows:
        tid = row["title_id"]
        if tid not in titles:
            raise WarehouseError(
                f"{version.alltime_path('titles')}: title {tid!r} is not in "
                f"{version.dim_path('titles')}"
            )
        title_alltime[tid] = _metrics(row, lg_k, f"{title_path}, title {tid!r}")
        title_countries[tid] = _sorted(row["countries"])
        affinities = _sorted(row["affinities"])
        options[tid] = FilterOptions(title_countries[tid], affinities)
        labels.update(affinities)

    order = sorted(titles.values(), key=lambda t: title_sort_key(t.name, t.id))
    title_outliers, asset_appeal = precompute(
        {t.id: t.asset_ids for t in titles.values()},
        {a.id: a.type for a in assets.values()},
        asset_alltime,
    )
    return Snapshot(
        version=name,
        created_at=created_at,
        warehouse_version=version.name,
        titles=MappingProxyType(titles),
        assets=MappingProxyType(assets),
        asset_alltime=MappingProxyType(asset_alltime),
        title_alltime=MappingProxyType(title_alltime),
        asset_countries=MappingProxyType(asset_countries),
        title_countries=MappingProxyType(title_countries),
        title_filter_options=MappingProxyType(options),
        affinities=tuple(sorted(labels)),
        title_order=tuple(t.id for t in order),
        title_outliers=title_outliers,
        asset_appeal=asset_appeal,
        days=tuple(sorted(version.days)),
    )


def _metrics(row: dict[str, Any], lg_k: int, where: str) -> MetricValues:
    values: dict[str, Any] = {}
    for metric, column in MEASURE_OF.items():
        raw = row[column]
        values[metric.value] = (
            _estimate(raw, lg_k, f"{where}, column {column}") if metric.is_sketch else int(raw or 0)
        )
    return MetricValues(**values)


def _estimate(blob_: bytes | None, lg_k: int, where: str) -> Estimate:
    """The estimate a backend's union of this one sketch gives (`sketches.estimate_blobs`).

    A union of a single sketch of the union's own lgK reproduces the sketch's estimate and
    bounds exactly (in every HLL mode, merged or not; tested), so that case skips the union,
    which costs ~60x more than reading the sketch.
    """
    if blob_ is None:
        return ZERO
    try:
        sketch = ds.hll_sketch.deserialize(blob_)
    except (RuntimeError, ValueError) as exc:
        raise WarehouseError(f"{where}: not a DataSketches HLL sketch: {exc}") from exc
    if sketch.lg_config_k == lg_k:
        return sketches.estimate(sketch)
    return sketches.estimate_blobs([blob_], lg_k)


def _sorted(values: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(sorted(set(values or ())))


def _read(path: Path, schema: pa.Schema) -> list[dict[str, Any]]:
    """Rows of a warehouse Parquet file, checked against (and cast to) its schema."""
    try:
        table = pq.read_table(path)
    except FileNotFoundError as exc:
        raise WarehouseError(f"warehouse table {path} does not exist") from exc
    except (OSError, pa.ArrowException) as exc:
        raise WarehouseError(f"warehouse table {path} is unreadable: {exc}") from exc
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise WarehouseError(f"warehouse table {path} lacks column(s) {', '.join(missing)}")
    try:
        table = table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise WarehouseError(
            f"warehouse table {path} does not match its schema {schema}: {exc}"
        ) from exc
    # column by column: several times faster than building one dict per row
    columns = [table.column(name).to_pylist() for name in schema.names]
    return [dict(zip(schema.names, values, strict=True)) for values in zip(*columns, strict=True)]


__all__ = ["SnapshotProducer", "build_snapshot"]
