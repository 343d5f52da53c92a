"""Builds one HLL sketch per group from sorted (group, member) arrays, fast.

DataSketches' Python API updates one value per call (~220 ns) and building a sketch costs
~1 µs, while most daily rollup groups hold only a handful of members. So a group with
fewer than 8 distinct coupons is written directly in the library's compact LIST-mode
format (8-byte preamble + the members' 32-bit coupons in update order), with the coupon of
each member taken from a one-member sketch the library built once per member; larger
groups go through the library in a tight loop. Both paths yield byte-identical sketches to
`keyart.sketches.hll.build` over the same members in the same order (tested).
"""

from __future__ import annotations

import datasketches as ds
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from keyart.sketches.hll import TGT_TYPE
from keyart.sketches.wire import COUNT_BYTE, LIST_HEAD, LIST_MAX, first_coupon, list_preamble

_CHUNK_PAIRS = 1 << 20  # members turned into Python ints at a time (bounds memory)


def coupon_table(members: npt.NDArray[np.int64], lg_k: int) -> pa.Table:
    """member_id, coupon (uint32) and clash (another member has the same coupon) for each
    distinct member id given, using one library-built one-member sketch per member."""
    members = np.asarray(members, dtype=np.int64)
    coupons = np.empty(len(members), dtype=np.uint32)
    for i, member in enumerate(members.tolist()):
        sketch = ds.hll_sketch(lg_k, TGT_TYPE)
        sketch.update(member)
        coupons[i] = first_coupon(sketch.serialize_compact())
    ordered = np.sort(coupons)
    shared = ordered[1:][ordered[1:] == ordered[:-1]]
    clash = np.isin(coupons, shared) if len(shared) else np.zeros(len(coupons), dtype=bool)
    return pa.table({"member_id": members, "coupon": coupons, "clash": clash})


def binary_array(
    offsets: npt.NDArray[np.int64], buf: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_]
) -> pa.Array:
    """A binary Arrow array over one value buffer: value i is buf[offsets[i]:offsets[i+1]],
    NULL where not `valid` (large_binary when the buffer outgrows 32-bit offsets)."""
    validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    small_offsets = offsets[-1] < 2**31
    return pa.Array.from_buffers(
        pa.binary() if small_offsets else pa.large_binary(),
        len(valid),
        [
            validity,
            pa.py_buffer(offsets.astype(np.int32) if small_offsets else offsets),
            pa.py_buffer(buf),
        ],
    )


class GroupSketcher:
    """Builds compact HLL_4 sketches (the format of `keyart.sketches.hll`) for many groups.

    With `list_mode=False` every sketch goes through the library (the reference path,
    kept for benchmarks and tests)."""

    def __init__(self, lg_k: int, *, list_mode: bool = True) -> None:
        self.lg_k = lg_k
        self.list_mode = list_mode
        self.library_updates = 0  # values fed to the library one by one (for benchmarks)
        self.library_sketches = 0  # sketches the library built (for benchmarks)

    def build(
        self,
        groups: npt.NDArray[np.int64],
        members: npt.NDArray[np.int64],
        coupons: npt.NDArray[np.uint32] | None,
        clash: npt.NDArray[np.bool_] | None,
        n_groups: int,
    ) -> pa.Array:
        """Sketch per group 0..n_groups-1 of the members paired with it (NULL for a group
        without members). Pairs must be distinct and sorted by group (and, for sketches
        byte-identical to the library's, by member within it). `coupons`/`clash` come from
        `coupon_table` for each pair's member; without them every group goes through the
        library (right for large groups)."""
        counts = np.bincount(np.asarray(groups, dtype=np.int64), minlength=n_groups)
        return self.build_runs(counts, members, coupons, clash)

    def build_runs(
        self,
        counts: npt.NDArray[np.int64],
        members: npt.NDArray[np.int64],
        coupons: npt.NDArray[np.uint32] | None,
        clash: npt.NDArray[np.bool_] | None,
    ) -> pa.Array:
        """Like `build`, for pairs laid out group after group: group g owns the next
        counts[g] members (and their coupons/clash flags)."""
        n = len(counts)
        counts = np.asarray(counts, dtype=np.int64)
        ends = np.cumsum(counts)
        starts = ends - counts
        if coupons is None or clash is None or not self.list_mode:
            small = np.zeros(n, dtype=bool)
        else:
            # two members sharing a coupon make the library keep one: leave such groups to
            # the library (rare, but results must stay byte-identical)
            seen = np.zeros(len(clash) + 1, dtype=np.int64)
            np.cumsum(clash, out=seen[1:])
            small = (counts >= 1) & (counts <= LIST_MAX) & (seen[ends] == seen[starts])
        large = np.flatnonzero((counts > 0) & ~small)
        blobs = self._library(np.asarray(members), starts[large], ends[large])
        sizes = np.where(small, LIST_HEAD + 4 * counts, 0)
        if len(large):
            sizes[large] = [len(b) for b in blobs]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        buf = np.empty(int(offsets[-1]), dtype=np.uint8)
        if small.any():
            assert coupons is not None
            self._list_mode(buf, offsets, small, counts, starts, np.asarray(coupons, np.uint32))
        if len(large):
            # all library blobs in one piece, scattered to their groups' offsets
            data = np.frombuffer(b"".join(blobs), dtype=np.uint8)
            lengths = sizes[large]
            shift = offsets[large] - (np.cumsum(lengths) - lengths)
            buf[np.repeat(shift, lengths) + np.arange(len(data))] = data
        return binary_array(offsets, buf, counts > 0)

    def _list_mode(
        self,
        buf: npt.NDArray[np.uint8],
        offsets: npt.NDArray[np.int64],
        small: npt.NDArray[np.bool_],
        counts: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
        coupons: npt.NDArray[np.uint32],
    ) -> None:
        """Write the LIST-mode sketches of the `small` groups into `buf` at `offsets`,
        one block of equally sized sketches at a time."""
        header = list_preamble(self.lg_k)
        # library blobs are multiples of 4 bytes too, so whole words can be written
        words = not (offsets % 4).any()
        target = buf.view(np.uint32) if words else buf
        unit = 4 if words else 1
        idx_all = np.flatnonzero(small)
        n_all = counts[idx_all]
        order = np.argsort(n_all.astype(np.int8), kind="stable")
        bounds = np.searchsorted(n_all[order], np.arange(1, LIST_MAX + 2))
        for size in range(1, LIST_MAX + 1):
            idx = idx_all[order[bounds[size - 1] : bounds[size]]]
            if not len(idx):
                continue
            block = np.empty((len(idx), LIST_HEAD + 4 * size), dtype=np.uint8)
            block[:, :LIST_HEAD] = header
            block[:, COUNT_BYTE] = size
            picked = coupons[starts[idx][:, None] + np.arange(size)]  # (groups, size)
            block[:, LIST_HEAD:] = np.ascontiguousarray(picked).view(np.uint8)
            values = block.view(np.uint32) if words else block
            target[(offsets[idx] // unit)[:, None] + np.arange(values.shape[1])] = values

    def _library(
        self,
        members: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
    ) -> list[bytes]:
        blobs: list[bytes] = []
        counts = ends - starts
        i, n = 0, len(starts)
        while i < n:
            # whole groups until about _CHUNK_PAIRS members are covered
            total = np.cumsum(counts[i:])
            j = i + max(int(np.searchsorted(total, _CHUNK_PAIRS, "right")), 1)
            sizes = counts[i:j]
            bounds = np.zeros(j - i + 1, dtype=np.int64)
            np.cumsum(sizes, out=bounds[1:])
            picked = np.repeat(starts[i:j] - bounds[:-1], sizes) + np.arange(bounds[-1])
            ids = members[picked].tolist()
            sketch = ds.hll_sketch(self.lg_k, TGT_TYPE)
            update, reset, serialize = sketch.update, sketch.reset, sketch.serialize_compact
            for s, e in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
                reset()
                for member in ids[s:e]:
                    update(member)
                blobs.append(serialize())
            self.library_updates += int(bounds[-1])
            self.library_sketches += j - i
            i = j
        return blobs


__all__ = ["LIST_MAX", "GroupSketcher", "binary_array", "coupon_table"]
