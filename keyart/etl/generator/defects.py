"""Turns a chunk's valid events into raw Arrow tables with the defects real feeds have:
repeated rows, rows every quarantine reason must catch, null ids and unlisted members."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from keyart.etl.generator.events import ImpressionRows, PlaybackRows, World
from keyart.etl.generator.vocab import COUNTRIES
from keyart.etl.schemas import RAW_TABLES

# Share of rows repeated verbatim (same id): ingest drops the copies and counts them.
DUPLICATE_SHARE = 0.005
# Share of otherwise valid rows whose id is null (never a duplicate of anything).
NULL_ID_SHARE = 0.0003
# Share of extra invalid rows per defect kind, at least one of each kind per chunk.
INVALID_SHARE = 0.0003
IMPRESSION_DEFECTS = ("unknown_asset", "null_member", "bad_country", "null_event_time")
PLAYBACK_DEFECTS = ("unknown_title", "null_member", "negative_duration", "null_event_time")
BAD_COUNTRIES: tuple[str | None, ...] = ("usa", "U1", "us", "", None)
_MASK63 = np.uint64((1 << 63) - 1)
_NO_TIME = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class ChunkStats:
    """What one written chunk of one event table holds."""

    rows: int
    duplicates: int
    null_ids: int
    invalid: dict[str, int]
    unlisted_member_rows: int


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which valid row each output row copies, its id key, and what is wrong with it."""

    src: np.ndarray  # int64 index into the valid rows
    id_key: np.ndarray  # int64, unique per output row except for duplicates
    id_null: np.ndarray  # bool
    defect: np.ndarray  # int64 index into the defect kinds, -1 for a valid row
    duplicates: int
    counts: dict[str, int]

    def has(self, kinds: tuple[str, ...], kind: str) -> np.ndarray:
        return np.asarray(self.defect == kinds.index(kind))


@dataclass(frozen=True, slots=True)
class _Ordered:
    """A chunk's planned output rows in event-time order (null times last), the order every
    column of an event table follows."""

    plan: _Plan
    kinds: tuple[str, ...]
    order: np.ndarray  # int64 positions in the plan, in output order
    src: np.ndarray  # int64 index into the valid rows, per output row
    defect: np.ndarray  # int64 index into the defect kinds, -1 for a valid row

    @classmethod
    def of(
        cls, rows: ImpressionRows | PlaybackRows, kinds: tuple[str, ...], rng: np.random.Generator
    ) -> _Ordered:
        plan = _plan(len(rows), kinds, rng)
        time_null = plan.has(kinds, "null_event_time")
        order = np.argsort(np.where(time_null, _NO_TIME, rows.time_us[plan.src]), kind="stable")
        return cls(plan, kinds, order, plan.src[order], plan.defect[order])

    def having(self, kind: str) -> np.ndarray:
        """Whether each output row carries the defect `kind`."""
        return np.asarray(self.defect == self.kinds.index(kind))

    def head_columns(
        self, prefix: str, chunk: int, salt: int, rows: ImpressionRows | PlaybackRows, world: World
    ) -> list[pa.Array]:
        """The id, event_time and member_id columns that both event tables start with."""
        member = rows.member[self.src]
        return [
            _ids(prefix, chunk, self.plan.id_key[self.order], self.plan.id_null[self.order], salt),
            _times(rows.time_us[self.src], self.having("null_event_time")),
            pa.array(
                world.audience.member_ids[member], pa.int64(), mask=self.having("null_member")
            ),
        ]

    def stats(self, rows: ImpressionRows | PlaybackRows, world: World) -> ChunkStats:
        """What the chunk holds."""
        return _stats(self.plan, world, rows.member[self.src], self.having("null_member"))


def impressions_table(
    rows: ImpressionRows, world: World, chunk: int, salt: int, rng: np.random.Generator
) -> tuple[pa.Table, ChunkStats]:
    """The chunk's `impressions` table, sorted by event_time (null times last)."""
    out = _Ordered.of(rows, IMPRESSION_DEFECTS, rng)
    src = out.src
    unknown = np.flatnonzero(out.having("unknown_asset"))
    bad = np.flatnonzero(out.having("bad_country"))

    asset = pa.array(world.catalog.asset_ids, pa.string()).take(pa.array(rows.asset[src]))
    asset = _replace(asset, unknown, [f"a0{v}" for v in rng.integers(10**8, 10**9, len(unknown))])
    country = pa.array(COUNTRIES, pa.string()).take(pa.array(rows.country[src]))
    country = _replace(
        country, bad, [BAD_COUNTRIES[i] for i in rng.integers(0, len(BAD_COUNTRIES), len(bad))]
    )
    table = pa.Table.from_arrays(
        [*out.head_columns("imp_", chunk, salt, rows, world), asset, country],
        schema=RAW_TABLES["impressions"],
    )
    return table, out.stats(rows, world)


def playbacks_table(
    rows: PlaybackRows, world: World, chunk: int, salt: int, rng: np.random.Generator
) -> tuple[pa.Table, ChunkStats]:
    """The chunk's `playbacks` table, sorted by event_time (null times last)."""
    out = _Ordered.of(rows, PLAYBACK_DEFECTS, rng)
    src = out.src
    unknown = np.flatnonzero(out.having("unknown_title"))
    negative = out.having("negative_duration")

    title = pa.array(world.catalog.title_ids, pa.string()).take(pa.array(rows.title[src]))
    title = _replace(title, unknown, [f"t0{v}" for v in rng.integers(10**7, 10**8, len(unknown))])
    asset_idx = rows.asset[src].copy()
    asset_idx[unknown] = -1  # an unknown title carries no asset
    asset = pa.array(world.catalog.asset_ids, pa.string()).take(
        pa.array(np.maximum(asset_idx, 0), mask=asset_idx < 0)
    )
    duration = np.where(negative, -rng.integers(1, 3600, len(src)), rows.duration_s[src])
    table = pa.Table.from_arrays(
        [
            *out.head_columns("pb_", chunk, salt, rows, world),
            title,
            asset,
            pa.array(duration, pa.int64()),
        ],
        schema=RAW_TABLES["playbacks"],
    )
    return table, out.stats(rows, world)


def _plan(n: int, kinds: tuple[str, ...], rng: np.random.Generator) -> _Plan:
    n_dup = round(n * DUPLICATE_SHARE)
    n_null = max(1, round(n * NULL_ID_SHARE)) if n > 1 else 0
    picked = rng.choice(n, n_dup + n_null, replace=False) if n else np.empty(0, np.int64)
    dup_src = picked[:n_dup]
    null_rows = picked[n_dup:]  # disjoint from duplicated rows
    per_kind = [max(1, round(n * INVALID_SHARE)) if n else 0 for _ in kinds]
    n_invalid = sum(per_kind)
    invalid_src = rng.integers(0, max(n, 1), n_invalid)
    valid = np.arange(n, dtype=np.int64)
    id_null = np.zeros(n + n_dup + n_invalid, dtype=bool)
    id_null[null_rows] = True
    return _Plan(
        src=np.concatenate([valid, dup_src, invalid_src]).astype(np.int64),
        id_key=np.concatenate([valid, dup_src, n + np.arange(n_invalid)]).astype(np.int64),
        id_null=id_null,
        defect=np.concatenate(
            [np.full(n + n_dup, -1), np.repeat(np.arange(len(kinds)), per_kind)]
        ).astype(np.int64),
        duplicates=n_dup,
        counts=dict(zip(kinds, per_kind, strict=True)),
    )


def _stats(plan: _Plan, world: World, member: np.ndarray, member_null: np.ndarray) -> ChunkStats:
    return ChunkStats(
        rows=len(plan.src),
        duplicates=plan.duplicates,
        null_ids=int(plan.id_null.sum()),
        invalid=plan.counts,
        unlisted_member_rows=int((~world.audience.listed[member] & ~member_null).sum()),
    )


def _replace(array: pa.Array, at: np.ndarray, values: list[str | None]) -> pa.Array:
    if len(at) == 0:
        return array
    mask = np.zeros(len(array), dtype=bool)
    mask[at] = True
    return pc.replace_with_mask(array, pa.array(mask), pa.array(values, pa.string()))


def _times(time_us: np.ndarray, null: np.ndarray) -> pa.Array:
    return pa.array(time_us, RAW_TABLES["impressions"].field("event_time").type, mask=null)


def _ids(prefix: str, chunk: int, key: np.ndarray, null: np.ndarray, salt: int) -> pa.Array:
    """Random-looking fixed-width hex ids: a bijective scramble of (chunk, key) in 63 bits."""
    x = (np.uint64(chunk) << np.uint64(40)) + key.astype(np.uint64)
    x = (x * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)) & _MASK63
    x ^= x >> np.uint64(29)
    x = (x * np.uint64(0xBF58476D1CE4E5B9)) & _MASK63
    x ^= x >> np.uint64(32)
    # hex digits written straight into an Arrow string buffer: no Python strings per row
    n, head = len(x), len(prefix)
    width = head + 16
    octets = x.astype(">u8").view(np.uint8).reshape(n, 8)
    chars = np.empty((n, width), dtype=np.uint8)
    chars[:, :head] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    chars[:, head::2] = _hex_digit(octets >> 4)
    chars[:, head + 1 :: 2] = _hex_digit(octets & 15)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    n_null = int(null.sum())
    validity = pa.array(~null).buffers()[1] if n_null else None
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(chars), validity, null_count=n_null
    )


def _hex_digit(nibble: np.ndarray) -> np.ndarray:
    digit = nibble + np.uint8(ord("0"))
    digit += (nibble > 9).view(np.uint8) * np.uint8(ord("a") - ord("0") - 10)
    return digit
