"""Unions of many small HLL sketches per group, with far fewer library calls.

A daily rollup cell usually holds a handful of members, so its sketch is in LIST or SET
mode: a plain list of 32-bit coupons (an HLL sketch of the same members is determined by
its coupons, whatever lgK). Merging a group's sketches one by one costs a deserialize and
a union update per blob; instead, the coupons of every LIST/SET blob of every group are
read with numpy in one pass, de-duplicated per group (the same member recurs across days
and countries), and fed to the group's union packed into as few SET-mode sketches as
can hold them (a SET sketch of up to 3/4 * 2^(lgK-3) coupons; LIST sketches of 7 below
lgK 8). Blobs in HLL mode (large cells) go through the library as they are. The union
then estimates as usual, so bounds come from DataSketches either way. A column of a few
hundred blobs or fewer (a title page: ~90) skips numpy, whose fixed costs would then be most
of the work, and unites each group's blobs with the library as they come.

The serialised layout is read and written by `keyart.sketches.wire`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any, TypeVar

import datasketches as ds
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from keyart import sketches
from keyart.query.results import ZERO, Estimate
from keyart.sketches import wire

I64 = npt.NDArray[np.int64]
T = TypeVar("T")


def _distinct(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Sorted distinct values (np.unique hashes, which is far slower on small arrays)."""
    keys = np.sort(keys)
    if len(keys) < 2:
        return keys
    keep = np.empty(len(keys), dtype=bool)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def _scramble(coupons: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint64]:
    """A fixed pseudo-random 32-bit sort key per coupon (the splitmix64 finaliser)."""
    x = coupons.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (x ^ (x >> np.uint64(31))) >> np.uint64(32)


SMALL_BLOBS = 256  # up to this many blobs in a column, numpy's fixed costs outweigh it


def group_estimates(
    column: pa.ChunkedArray | pa.ListArray | list[list[bytes | None] | None],
    lg_k: int,
    strategy: str = "auto",
) -> list[Estimate]:
    """One estimate per row of a list<binary> column (Arrow, or a Python list of lists):
    the union of the row's sketches.

    `strategy` is "plain" (one library union update per blob), "packed" (coupons read
    with numpy, de-duplicated and packed), "small" (library unions over the Python list,
    without numpy) or "auto" (whichever costs less for the data).
    """
    if isinstance(column, list):
        if strategy == "small" or (strategy == "auto" and _listed(column) <= SMALL_BLOBS):
            return [_small_estimate(blobs, lg_k) for blobs in column]
        column = pa.array(column, pa.list_(pa.binary()))
    if strategy == "small" or (strategy == "auto" and _blob_count(column) <= SMALL_BLOBS):
        return [_small_estimate(blobs, lg_k) for blobs in column.to_pylist()]
    return _per_group(column, lg_k, strategy, _estimate, ZERO)


def _listed(column: list[list[bytes | None] | None]) -> int:
    return sum(len(blobs) for blobs in column if blobs)


def _blob_count(column: pa.ChunkedArray | pa.ListArray) -> int:
    """The blobs under the column's lists (of a sliced list array, also those outside the
    slice: a bound that is cheap to read)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return sum(len(chunk.values) for chunk in chunks)


def _small_estimate(blobs: list[bytes | None] | None, lg_k: int) -> Estimate:
    """The estimate of one group's union, in storage order or, where order can change the
    estimate (as `_Blobs.order_matters` decides), in `_plain`'s fixed checksum order."""
    present = [b for b in blobs or () if b is not None]
    if not present:
        return ZERO
    if len(present) > 1 and _order_matters(present, lg_k):
        present = _in_fixed_order(present)
    return sketches.estimate(_union(present, lg_k).get_result(sketches.TGT_TYPE))


def _order_matters(blobs: list[bytes], lg_k: int) -> bool:
    """Whether a union of these blobs may reach HLL mode: `_Blobs.order_matters`'s rule (an
    HLL-mode or unreadable blob, or more coupons in all than SET mode holds) for one
    group's blobs, their preambles read in Python."""
    coupons = 0
    for blob in blobs:
        if len(blob) < wire.LIST_HEAD:
            return True  # the library will say what is wrong with it
        if blob[wire.FLAGS_BYTE] & wire.EMPTY:
            continue
        mode = blob[wire.MODE_BYTE] & 3
        if mode == wire.LIST:
            coupons += blob[wire.COUNT_BYTE]
        elif mode == wire.SET and len(blob) >= wire.SET_HEAD:
            coupons += int.from_bytes(blob[wire.LIST_HEAD : wire.SET_HEAD], "little")
        else:
            return True
    return coupons > wire.capacity(lg_k)


def _in_fixed_order(blobs: list[bytes]) -> list[bytes]:
    """The blobs in an order fixed by a checksum of each: repeatable, and unrelated to the
    hash values, as HIP estimation assumes of arrival order."""
    return sorted(blobs, key=lambda b: (zlib.crc32(b), b))


def _union(blobs: list[bytes], lg_k: int) -> ds.hll_union:
    """The library's union of the blobs, in the order given."""
    union = ds.hll_union(lg_k)
    for blob in blobs:
        union.update(ds.hll_sketch.deserialize(blob))
    return union


def group_sketches(
    column: pa.ChunkedArray | pa.ListArray, lg_k: int, strategy: str = "auto"
) -> list[bytes | None]:
    """One compact HLL_4 sketch per row of a list<binary> column: the union of the row's
    sketches (None for a row without any), e.g. to pre-merge rollup cells. A row holding
    a single sketch keeps it as it is. Sketches are united in the order given, which must
    not depend on their hash values (HIP estimation assumes so), e.g. storage order."""
    return _per_group(column, lg_k, strategy, _serialise, None, keep_single=True, reorder=False)


def _estimate(union: ds.hll_union) -> Estimate:
    return sketches.estimate(union.get_result(sketches.TGT_TYPE))


def _serialise(union: ds.hll_union) -> bytes:
    return bytes(union.get_result(sketches.TGT_TYPE).serialize_compact())


def _per_group(
    column: pa.ChunkedArray | pa.ListArray,
    lg_k: int,
    strategy: str,
    finish: Callable[[ds.hll_union], T],
    nothing: T,
    keep_single: bool = False,
    reorder: bool = True,
) -> list[T]:
    if strategy not in ("auto", "plain", "packed"):  # "small" is group_estimates' own
        raise ValueError(f"unknown merge strategy {strategy!r}")
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    out: list[T] = []
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        blobs = _Blobs(chunk)
        singles: dict[int, Any] = {}
        if keep_single:
            singles = blobs.take_singles()
        use_packed = strategy == "packed" or (strategy == "auto" and blobs.packing_pays())
        unions = _packed(blobs, lg_k) if use_packed else _plain(blobs, lg_k, reorder)
        for g, u in enumerate(unions):
            if g in singles:
                out.append(singles[g])
            else:
                out.append(nothing if u is None else finish(u))
    return out


class _Blobs:
    """The sketches of one Arrow chunk of groups, classified by their preamble."""

    def __init__(self, lists: pa.ListArray) -> None:
        self.n_groups = len(lists)
        list_offsets = np.asarray(lists.offsets, dtype=np.int64)
        self.values = lists.values
        self.first, last = int(list_offsets[0]), int(list_offsets[-1])
        data, blob_offsets = wire.binary_buffers(self.values)
        blob_offsets = blob_offsets[self.first : last + 1]
        starts, lengths = blob_offsets[:-1], blob_offsets[1:] - blob_offsets[:-1]
        self.data, self.starts = data, starts
        self.blob_group = np.repeat(np.arange(self.n_groups, dtype=np.int64), np.diff(list_offsets))
        self.group_bounds = list_offsets - self.first
        valid = np.ones(len(starts), dtype=bool)
        if self.values.null_count:
            valid = np.asarray(self.values.is_valid())[self.first : last]
        read = wire.read_preambles(data, starts, lengths, valid)
        self.empty, self.library = read.empty, read.library
        self.count, self.first_coupon = read.count, read.first_coupon
        self.valid = valid

    def packing_pays(self) -> bool:
        """Whether reading coupons with numpy beats one library call per blob: roughly
        0.7 us per blob against 1 ms fixed, 0.15 us per coupon and 15 us per group."""
        blobs = int((self.valid & ~self.empty).sum())
        plain = 0.7 * blobs + 0.03 * int(self.count.sum())
        packed = 1000.0 + 0.15 * int(self.count.sum()) + 15.0 * self.n_groups
        return packed < plain

    def take_singles(self) -> dict[int, bytes]:
        """Remove the groups holding exactly one non-empty sketch; return those sketches
        by group."""
        usable = self.valid & ~self.empty
        per_group = np.bincount(self.blob_group[usable], minlength=self.n_groups)
        single_blob = usable & (per_group[self.blob_group] == 1)
        picked = np.flatnonzero(single_blob)
        if not len(picked):
            return {}
        found = dict(zip(self.blob_group[picked].tolist(), self.raw(picked), strict=True))
        drop = per_group[self.blob_group] == 1
        self.valid = self.valid & ~drop
        self.library = self.library & ~drop
        self.count = np.where(drop, 0, self.count)
        return found

    def order_matters(self, lg_k: int) -> npt.NDArray[np.bool_]:
        """Per group, whether the order its blobs are united in can change the estimate:
        a union that stays in LIST/SET mode estimates from its coupon count alone, which
        no order changes; it may reach HLL mode (where HIP estimation depends on arrival
        order) only from an HLL-mode blob or more coupons in all than SET mode holds."""
        usable = self.valid & ~self.empty
        coupons = np.bincount(
            self.blob_group, weights=np.where(usable, self.count, 0), minlength=self.n_groups
        )
        library = np.bincount(
            self.blob_group, weights=usable & self.library, minlength=self.n_groups
        )
        matters: npt.NDArray[np.bool_] = (coupons > wire.capacity(lg_k)) | (library > 0)
        return matters

    def raw(self, index: I64) -> list[bytes]:
        """The blobs at the given positions, as bytes."""
        blobs: list[bytes] = self.values.take(pa.array(index + self.first)).to_pylist()
        return blobs


def _plain(blobs: _Blobs, lg_k: int, reorder: bool = True) -> list[ds.hll_union | None]:
    """Union each group's blobs with the library, in storage order or, with `reorder`
    and where order can change the estimate, in `_in_fixed_order`."""
    use = np.flatnonzero(blobs.valid & ~blobs.empty)
    raw = blobs.raw(use)
    # blobs are grouped in row order already: each group's run of `raw` is one slice
    bounds = np.searchsorted(
        blobs.blob_group[use], np.arange(blobs.n_groups + 1, dtype=np.int64)
    ).tolist()
    ordered = blobs.order_matters(lg_k).tolist() if reorder else [False] * blobs.n_groups
    out: list[ds.hll_union | None] = [None] * blobs.n_groups
    for group in range(blobs.n_groups):
        lo, hi = bounds[group], bounds[group + 1]
        if lo == hi:
            continue
        members = raw[lo:hi]
        out[group] = _union(_in_fixed_order(members) if ordered[group] else members, lg_k)
    return out


def _packed(blobs: _Blobs, lg_k: int) -> list[ds.hll_union | None]:
    """Union each group's distinct coupons, packed, plus its HLL-mode blobs."""
    n_groups, count, data = blobs.n_groups, blobs.count, blobs.data
    total = int(count.sum())
    if total:
        blob_of = np.repeat(np.arange(len(count), dtype=np.int64), count)
        within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
        coupons = wire.u32(data, blobs.first_coupon[blob_of] + 4 * within)
        group_key = blobs.blob_group[blob_of].astype(np.uint64) << np.uint64(32)
        keys = _distinct(group_key | coupons)
        key_group = (keys >> np.uint64(32)).astype(np.int64)
        key_coupon = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        # the union's HIP estimator assumes arrival in an order unrelated to the hashes;
        # coupons sorted by value are anything but, so present them in a scrambled order
        order = np.argsort((key_group.astype(np.uint64) << np.uint64(32)) | _scramble(key_coupon))
        key_coupon = key_coupon[order]
        bounds = np.searchsorted(key_group, np.arange(n_groups + 1, dtype=np.int64))
    else:
        key_coupon = np.empty(0, dtype=np.uint32)
        bounds = np.zeros(n_groups + 1, dtype=np.int64)

    # blobs the library must read, by group, in a fixed order
    lib_blobs: dict[int, list[bytes]] = {}
    if blobs.library.any():
        picked = np.flatnonzero(blobs.library)
        for i, blob in zip(picked.tolist(), blobs.raw(picked), strict=True):
            lib_blobs.setdefault(int(blobs.blob_group[i]), []).append(blob)
        for group_blobs in lib_blobs.values():
            group_blobs.sort(key=zlib.crc32)

    packed, blob_at, first_blob = wire.pack(key_coupon, bounds, lg_k)
    blob_at_list, first_blob_list = blob_at.tolist(), first_blob.tolist()
    out: list[ds.hll_union | None] = []
    for g in range(n_groups):
        lo, hi = first_blob_list[g], first_blob_list[g + 1]
        extra = lib_blobs.get(g)
        if hi == lo and not extra:
            out.append(None)
            continue
        union = ds.hll_union(lg_k)
        for blob in extra or ():
            union.update(ds.hll_sketch.deserialize(blob))
        for c in range(lo, hi):
            union.update(ds.hll_sketch.deserialize(packed[blob_at_list[c] : blob_at_list[c + 1]]))
        out.append(union)
    return out


__all__ = ["group_estimates", "group_sketches"]
