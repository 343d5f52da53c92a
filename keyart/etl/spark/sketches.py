"""Turning Spark's sketches into the warehouse's form: compact HLL_4 (DESIGN §2).

Spark's `hll_sketch_agg` serialises an updatable HLL_8 sketch. Its registers are exactly
those keyart's Python sketches hold for the same int64 ids (same hash), so a union with
one lgK re-serialised as compact HLL_4 is lossless and about half the size.

Most daily rollup rows hold a handful of members: such a sketch is in LIST mode, where the
updatable form is an 8-byte preamble plus 8 coupon slots filled in insertion order, and
the compact form is the same preamble (compact flag set, HLL_4 target) plus the filled
slots. Those rows are rewritten with numpy; the others go through the library.
"""

from __future__ import annotations

from collections.abc import Iterable

import datasketches as ds
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from keyart.sketches import TGT_TYPE

_LIST_PREINTS = 2  # preamble byte 0 of a LIST-mode sketch
_LIST_SLOTS = 8  # an updatable LIST-mode sketch always has 2^3 coupon slots
_LIST_SIZE = 8 + 4 * _LIST_SLOTS
_COMPACT = 0x08  # flags byte (5): compact
_MODE_MASK = 0x03  # mode byte (7), low bits: 0 LIST, 1 SET, 2 HLL


def to_compact_hll4(blob: bytes, lg_k: int) -> bytes:
    """One sketch of any HLL type as a compact HLL_4 sketch with the same estimate."""
    union = ds.hll_union(lg_k)
    union.update(ds.hll_sketch.deserialize(blob))
    return bytes(union.get_result(TGT_TYPE).serialize_compact())


def _as_binary(values: pa.Array | pa.ChunkedArray | Iterable[bytes | None]) -> pa.BinaryArray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.binary())
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), pa.binary())
    if values.type != pa.binary():
        values = values.cast(pa.binary())
    return values


def convert_column(
    values: pa.Array | pa.ChunkedArray | Iterable[bytes | None], lg_k: int
) -> pa.BinaryArray:
    """A binary Arrow array of compact HLL_4 sketches (nulls stay null), byte-identical to
    `to_compact_hll4` of each value."""
    arr = _as_binary(values)
    n = len(arr)
    if n == 0:
        return pa.array([], pa.binary())
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32, count=n + 1, offset=arr.offset * 4)
    offsets = offsets.astype(np.int64)
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    starts, lengths = offsets[:-1], offsets[1:] - offsets[:-1]

    def byte_at(k: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.uint8)
        ok = valid & (lengths > k)
        out[ok] = data[starts[ok] + k]
        return out

    count = byte_at(6).astype(np.int64)
    fast = (
        valid
        & (lengths == _LIST_SIZE)
        & (byte_at(0) == _LIST_PREINTS)
        & ((byte_at(5) & _COMPACT) == 0)
        & ((byte_at(7) & _MODE_MASK) == 0)
        & (count >= 1)
        & (count <= _LIST_SLOTS - 1)
    )
    slow_idx = np.flatnonzero(valid & ~fast)
    slow = [to_compact_hll4(arr[int(i)].as_py(), lg_k) for i in slow_idx]

    sizes = np.zeros(n, dtype=np.int64)
    sizes[fast] = 8 + 4 * count[fast]
    sizes[slow_idx] = [len(b) for b in slow]
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=out_offsets[1:])
    buf = np.zeros(int(out_offsets[-1]), dtype=np.uint8)

    fast_idx = np.flatnonzero(fast)
    if len(fast_idx):
        head = out_offsets[fast_idx]
        src = starts[fast_idx]
        header = np.empty((len(fast_idx), 8), dtype=np.uint8)
        header[:] = data[src[:, None] + np.arange(8)]
        header[:, 5] = _COMPACT
        header[:, 7] = 0  # LIST mode, HLL_4 target
        buf[head[:, None] + np.arange(8)] = header
        nbytes = 4 * count[fast_idx]
        row = np.repeat(np.arange(len(fast_idx)), nbytes)
        pos = np.arange(int(nbytes.sum())) - np.repeat(np.cumsum(nbytes) - nbytes, nbytes)
        buf[head[row] + 8 + pos] = data[src[row] + 8 + pos]
    for i, blob in zip(slow_idx.tolist(), slow, strict=True):
        buf[out_offsets[i] : out_offsets[i + 1]] = np.frombuffer(blob, dtype=np.uint8)

    return _build(out_offsets, buf, valid)


def _build(offsets: np.ndarray, buf: np.ndarray, valid: np.ndarray) -> pa.BinaryArray:
    """A binary array over a value buffer and int64 offsets, NULL where not `valid`."""
    values = pa.Array.from_buffers(
        pa.large_binary(), len(valid), [None, pa.py_buffer(offsets), pa.py_buffer(buf)]
    )
    if not valid.all():
        values = pc.if_else(pa.array(valid), values, pa.scalar(None, pa.large_binary()))
    return values.cast(pa.binary())
