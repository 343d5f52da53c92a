"""The compact serialised layout of DataSketches HLL sketches, read and written with numpy:
what the ETL writes for small groups without the library, and what query-time unions read
to skip the library for sketches that are plain coupon lists.

Serialised compact layouts (DataSketches HLL, all little-endian):
    LIST: preInts=2 serVer=1 family=7 lgK lgArr flags count mode | count x uint32 coupons
    SET:  preInts=3 serVer=1 family=7 lgK lgArr flags 0     mode | uint32 count | coupons
    mode & 3 = 0 LIST, 1 SET, 2 HLL (mode >> 2 = 0: target HLL_4);
    flags & 8 = compact, flags & 4 = empty.
An HLL sketch of a set of members is determined by its coupons (whatever lgK) while it is
in LIST or SET mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

LIST, SET = 0, 1  # mode & 3
COMPACT, EMPTY = 8, 4  # flag bits
LG_K_BYTE, LG_ARR_BYTE, FLAGS_BYTE, COUNT_BYTE, MODE_BYTE = 3, 4, 5, 6, 7
LIST_HEAD, SET_HEAD = 8, 12  # bytes before the coupons
LIST_MAX = 7  # a LIST-mode sketch holds at most 7 coupons in any lgK, then changes mode
# preInts, serVer, family HLL, lgK (set per sketch), lgArr, flags (compact), count, mode
_LIST_PREAMBLE = (2, 1, 7, 0, 3, COMPACT, 0, LIST)
_SET_PREAMBLE = (3, 1, 7, 0, 0, COMPACT, 0, SET)

I64 = npt.NDArray[np.int64]


def list_preamble(lg_k: int) -> npt.NDArray[np.uint8]:
    """The 8 preamble bytes of a compact LIST-mode HLL_4 sketch (count byte left 0)."""
    header = np.array(_LIST_PREAMBLE, dtype=np.uint8)
    header[LG_K_BYTE] = lg_k
    return header


def first_coupon(blob: bytes) -> int:
    """The first coupon of a compact LIST-mode sketch (a one-member sketch's only one)."""
    return int.from_bytes(blob[LIST_HEAD : LIST_HEAD + 4], "little")


def binary_buffers(values: pa.BinaryArray) -> tuple[npt.NDArray[np.uint8], I64]:
    """The data bytes and the (absolute) offsets of a binary array, without copies."""
    offsets_buf, data_buf = values.buffers()[1], values.buffers()[2]
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    )
    return data, offsets.astype(np.int64)


def u32(data: npt.NDArray[np.uint8], at: I64) -> npt.NDArray[np.uint32]:
    """Little-endian uint32 values starting at byte positions `at`."""
    out = data[at].astype(np.uint32)
    out |= data[at + 1].astype(np.uint32) << np.uint32(8)
    out |= data[at + 2].astype(np.uint32) << np.uint32(16)
    out |= data[at + 3].astype(np.uint32) << np.uint32(24)
    return out


@dataclass(frozen=True)
class Preambles:
    """What the preambles of many serialised sketches say, one entry per sketch."""

    empty: npt.NDArray[np.bool_]  # an empty sketch: adds nothing to a union
    library: npt.NDArray[np.bool_]  # not a plain coupon list (HLL mode, odd layout, ...)
    count: I64  # coupons of a LIST/SET sketch, else 0
    first_coupon: I64  # byte position of a LIST/SET sketch's first coupon


def read_preambles(
    data: npt.NDArray[np.uint8], starts: I64, lengths: I64, valid: npt.NDArray[np.bool_]
) -> Preambles:
    """Classify the sketches at byte positions `starts` (`lengths` long) of `data`; NULL
    (not `valid`) entries are neither empty nor library sketches and hold no coupons."""
    # anything unusual (HLL mode, not compact, odd length) takes the library path
    has_header = valid & (lengths >= LIST_HEAD)
    mode = np.full(len(starts), 255)
    flags = np.zeros(len(starts), dtype=np.int64)
    list_count = np.zeros(len(starts), dtype=np.int64)
    if len(data) >= LIST_HEAD:
        head = np.where(has_header, starts, 0)
        mode = np.where(has_header, data[head + MODE_BYTE] & 3, 255)
        flags = np.where(has_header, data[head + FLAGS_BYTE], 0)
        list_count = np.where(has_header, data[head + COUNT_BYTE], 0).astype(np.int64)
    coupon_mode = has_header & ((flags & COMPACT) != 0) & ((flags & EMPTY) == 0)
    empty = has_header & ((flags & EMPTY) != 0)
    is_list = coupon_mode & (mode == LIST) & (lengths == LIST_HEAD + 4 * list_count)
    set_count = np.zeros(len(starts), dtype=np.int64)
    maybe_set = coupon_mode & (mode == SET) & (lengths >= SET_HEAD)
    if maybe_set.any():
        set_count[maybe_set] = u32(data, starts[maybe_set] + LIST_HEAD).astype(np.int64)
    is_set = maybe_set & (lengths == SET_HEAD + 4 * set_count)
    return Preambles(
        empty=empty,
        library=valid & ~is_list & ~is_set & ~empty,
        count=np.where(is_list, list_count, np.where(is_set, set_count, 0)),
        first_coupon=np.where(is_list, starts + LIST_HEAD, starts + SET_HEAD),
    )


def capacity(lg_k: int) -> int:
    """Most coupons one packed sketch may hold without its deserialisation promoting it."""
    if lg_k <= 7:  # no SET mode below lgK 8: LIST sketches of up to 7 coupons
        return LIST_MAX
    return 3 << (lg_k - 5)  # SET mode grows to 2^(lgK-3) slots, filled to 3/4


def pack(coupons: npt.NDArray[np.uint32], bounds: I64, lg_k: int) -> tuple[bytes, I64, I64]:
    """Every group's coupons (group g holds coupons[bounds[g]:bounds[g+1]]) packed into as
    few compact SET-mode sketches as fit (LIST mode below lgK 8), all in one buffer:
    (buffer, blob offsets, first blob of each group), so that group g's blobs are
    offsets[first[g]] .. offsets[first[g+1]]."""
    cap = capacity(lg_k)
    use_set = cap > LIST_MAX
    head = SET_HEAD if use_set else LIST_HEAD
    per_group = np.diff(bounds)
    chunks = (per_group + cap - 1) // cap
    first_chunk = np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)
    n_chunks = int(first_chunk[-1])
    chunk_group = np.repeat(np.arange(len(per_group), dtype=np.int64), chunks)
    chunk_no = np.arange(n_chunks, dtype=np.int64) - first_chunk[chunk_group]
    chunk_lo = bounds[chunk_group] + cap * chunk_no
    chunk_count = np.minimum(cap, bounds[chunk_group + 1] - chunk_lo)
    sizes = head + 4 * chunk_count
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    buf = np.empty(int(offsets[-1]), dtype=np.uint8)
    starts = offsets[:-1]
    if use_set:
        # the hash table size a SET sketch of this many coupons has: 3/4 full at most
        need = np.ceil(np.log2(np.maximum(4 * chunk_count, 1) / 3)).astype(np.int64)
        for i, byte in enumerate(_SET_PREAMBLE):
            buf[starts + i] = byte
        buf[starts + LG_K_BYTE] = lg_k
        buf[starts + LG_ARR_BYTE] = np.maximum(5, need).astype(np.uint8)
        count_le = chunk_count.astype("<u4").view(np.uint8).reshape(-1, 4)
        for b in range(4):
            buf[starts + LIST_HEAD + b] = count_le[:, b]
    else:
        for i, byte in enumerate(list_preamble(lg_k).tolist()):
            buf[starts + i] = byte
        buf[starts + COUNT_BYTE] = chunk_count.astype(np.uint8)
    # coupon i of the flat array sits in its group's chunk (i - bounds[g]) // cap
    index = np.arange(len(coupons), dtype=np.int64)
    group = np.repeat(np.arange(len(per_group), dtype=np.int64), per_group)
    within = index - bounds[group]
    chunk = first_chunk[group] + within // cap
    at = starts[chunk] + head + 4 * (within % cap)
    le = coupons.astype("<u4").view(np.uint8).reshape(-1, 4)
    for b in range(4):
        buf[at + b] = le[:, b]
    return buf.tobytes(), offsets, first_chunk


__all__ = [
    "LIST_MAX",
    "Preambles",
    "binary_buffers",
    "capacity",
    "first_coupon",
    "list_preamble",
    "pack",
    "read_preambles",
    "u32",
]
