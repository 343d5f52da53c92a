"""`keyart generate`: writes a deterministic synthetic raw directory (DESIGN §3) for a
named profile, with planted anomalies and every kind of bad input the ingest must handle."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow.parquet as pq
from tqdm import tqdm

from keyart.errors import ConfigError
from keyart.etl.generator.audience import build_audience
from keyart.etl.generator.catalog import build_catalog
from keyart.etl.generator.defects import ChunkStats, impressions_table, playbacks_table
from keyart.etl.generator.events import World, chunk_events
from keyart.etl.generator.profiles import chunk_days, day_counts, get_profile

PLANTED_FILE = "_planted.json"
EVENT_TABLES = ("impressions", "playbacks")
# Independent random streams, so that e.g. the audience does not change with the catalog.
_CATALOG, _AUDIENCE, _MEMBERS_ORDER, _EVENTS, _DEFECTS, _SALT = range(6)
# Chunks drawn concurrently: numpy and Arrow release the GIL for the heavy parts.
_WORKERS = 2
_T = TypeVar("_T")


@dataclass(frozen=True)
class GenerateSummary:
    """What a generate run wrote: rows per table, calendar, planted anomalies and defects."""

    profile: str
    seed: int
    scale: float
    start: date
    days: int
    titles: int
    assets: int
    members: int
    impressions: int  # rows written, duplicates and invalid rows included
    playbacks: int
    outlier_asset_ids: tuple[str, ...]
    clickbait_asset_ids: tuple[str, ...]
    duplicates: dict[str, int] = field(default_factory=dict)
    invalid: dict[str, dict[str, int]] = field(default_factory=dict)
    null_ids: dict[str, int] = field(default_factory=dict)
    unlisted_member_rows: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def end(self) -> date:
        """The last day of the period (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    @property
    def rows(self) -> dict[str, int]:
        """Rows written per raw table."""
        return {
            "titles": self.titles,
            "assets": self.assets,
            "members": self.members,
            "impressions": self.impressions,
            "playbacks": self.playbacks,
        }

    def to_json(self) -> dict[str, object]:
        """The deterministic part of the summary (no timing), as written to _planted.json."""
        data = asdict(self)
        data.pop("elapsed_s")
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        data["outlier_asset_ids"] = list(self.outlier_asset_ids)
        data["clickbait_asset_ids"] = list(self.clickbait_asset_ids)
        return data

    @classmethod
    def read(cls, raw: Path) -> GenerateSummary:
        """The summary recorded in a generated raw directory's _planted.json."""
        path = Path(raw) / PLANTED_FILE
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a readable generator summary ({exc})") from exc
        data.pop("end", None)
        data["start"] = date.fromisoformat(data["start"])
        data["outlier_asset_ids"] = tuple(data["outlier_asset_ids"])
        data["clickbait_asset_ids"] = tuple(data["clickbait_asset_ids"])
        return cls(**data)


def generate(
    profile: str, out: Path, seed: int = 7, scale: float = 1.0, progress: bool = False
) -> GenerateSummary:
    """Write the raw tables of `profile` to `out` (replacing an earlier generated dir) and
    return what was written; the same seed and scale always give the same table contents."""
    started = time.perf_counter()
    if seed < 0:
        raise ConfigError(f"seed must be >= 0, got {seed}")
    spec = get_profile(profile, scale)
    out = Path(out)
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        summary = _write(spec.name, seed, scale, staging, progress)
        _swap_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return replace(summary, elapsed_s=time.perf_counter() - started)


def render_summary(summary: GenerateSummary, out: Path) -> str:
    """The report `keyart generate` prints: days, rows per table, planted defects and effects."""
    lines = [
        f"generated profile {summary.profile} (seed {summary.seed}, scale {summary.scale:g}) "
        f"into {out} in {summary.elapsed_s:.1f}s",
        f"  days       {summary.start} .. {summary.end} ({summary.days})",
    ]
    lines += [f"  {table:<11}{n:>12,}" for table, n in summary.rows.items()]
    for table in EVENT_TABLES:
        bad = ", ".join(f"{k} {v}" for k, v in summary.invalid.get(table, {}).items())
        lines.append(
            f"  {table}: {summary.duplicates.get(table, 0):,} duplicates, "
            f"{summary.null_ids.get(table, 0):,} null ids, "
            f"{summary.unlisted_member_rows.get(table, 0):,} from unlisted members; invalid: {bad}"
        )
    lines.append(f"  planted outliers  {', '.join(summary.outlier_asset_ids)}")
    lines.append(f"  planted clickbait {', '.join(summary.clickbait_asset_ids)}")
    return "\n".join(lines)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *stream])))


def _write(profile: str, seed: int, scale: float, root: Path, progress: bool) -> GenerateSummary:
    spec = get_profile(profile, scale)
    catalog = build_catalog(spec, _rng(seed, _CATALOG))
    audience = build_audience(spec.members, _rng(seed, _AUDIENCE))
    world = World(spec, catalog, audience, day_counts(spec))
    salt = int(_rng(seed, _SALT).integers(0, 1 << 62))
    for table in EVENT_TABLES:
        (root / table).mkdir(parents=True)
    pq.write_table(catalog.titles_table(spec), root / "titles.parquet")
    pq.write_table(catalog.assets_table(), root / "assets.parquet")
    members = audience.members_table(_rng(seed, _MEMBERS_ORDER))
    pq.write_table(members, root / "members.parquet")

    chunks = chunk_days(world.day_counts)

    def write_chunk(index: int) -> tuple[ChunkStats, ChunkStats, int]:
        first, end = chunks[index]
        imp_rows, play_rows = chunk_events(world, first, end, _rng(seed, _EVENTS, index))
        defects_rng = _rng(seed, _DEFECTS, index)
        imp, imp_stats = impressions_table(imp_rows, world, index, salt, defects_rng)
        plays, play_stats = playbacks_table(play_rows, world, index, salt, defects_rng)
        pq.write_table(imp, root / "impressions" / f"part-{index:05d}.parquet")
        pq.write_table(plays, root / "playbacks" / f"part-{index:05d}.parquet")
        return imp_stats, play_stats, int(world.day_counts[first:end].sum())

    totals = {table: _Totals() for table in EVENT_TABLES}
    bar = tqdm(
        total=int(world.day_counts.sum()),
        unit="imp",
        unit_scale=True,
        desc=f"generate {profile}",
        disable=not progress,
    )
    with bar, ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        for imp_stats, play_stats, n_drawn in _ordered(pool, write_chunk, len(chunks)):
            totals["impressions"].add(imp_stats)
            totals["playbacks"].add(play_stats)
            bar.update(n_drawn)
    summary = GenerateSummary(
        profile=profile,
        seed=seed,
        scale=scale,
        start=spec.start,
        days=spec.days,
        titles=catalog.n_titles,
        assets=catalog.n_assets,
        members=members.num_rows,
        impressions=totals["impressions"].rows,
        playbacks=totals["playbacks"].rows,
        outlier_asset_ids=tuple(catalog.asset_ids[i] for i in catalog.outliers.tolist()),
        clickbait_asset_ids=tuple(catalog.asset_ids[i] for i in catalog.clickbait.tolist()),
        duplicates={t: totals[t].duplicates for t in EVENT_TABLES},
        invalid={t: dict(totals[t].invalid) for t in EVENT_TABLES},
        null_ids={t: totals[t].null_ids for t in EVENT_TABLES},
        unlisted_member_rows={t: totals[t].unlisted for t in EVENT_TABLES},
    )
    (root / PLANTED_FILE).write_text(json.dumps(summary.to_json(), indent=2) + "\n")
    return summary


@dataclass
class _Totals:
    """Running sums of ChunkStats for one event table."""

    rows: int = 0
    duplicates: int = 0
    null_ids: int = 0
    unlisted: int = 0
    invalid: Counter[str] = field(default_factory=Counter)

    def add(self, stats: ChunkStats) -> None:
        self.rows += stats.rows
        self.duplicates += stats.duplicates
        self.null_ids += stats.null_ids
        self.unlisted += stats.unlisted_member_rows
        self.invalid.update(stats.invalid)


def _ordered(pool: ThreadPoolExecutor, fn: Callable[[int], _T], n: int) -> Iterator[_T]:
    """Results of fn(0..n-1) in order, with at most _WORKERS chunks in flight (bounded memory)."""
    pending = [pool.submit(fn, i) for i in range(min(_WORKERS, n))]
    for i in range(n):
        result = pending.pop(0).result()
        if i + _WORKERS < n:
            pending.append(pool.submit(fn, i + _WORKERS))
        yield result


def _check_target(out: Path) -> None:
    """Refuse to replace anything but an empty dir or an earlier generated raw dir."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    if any(out.iterdir()) and not (out / PLANTED_FILE).is_file():
        raise ConfigError(
            f"--out {out} is a non-empty directory that keyart generate did not write; "
            "choose another path or remove it"
        )


def _swap_into_place(staging: Path, out: Path) -> None:
    """Rename the finished staging dir to `out`; an earlier dir is moved aside first."""
    if not out.exists():
        staging.rename(out)
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


__all__ = [
    "EVENT_TABLES",
    "PLANTED_FILE",
    "GenerateSummary",
    "generate",
    "render_summary",
]
