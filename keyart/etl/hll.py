"""Builds one HLL sketch per group from sorted (group, member) arrays, fast.

DataSketches' Python API updates one value per call (~250 ns) and building a sketch costs
~1.4 µs, while most daily rollup groups hold only a handful of members. So a group with
fewer than 8 distinct coupons is written directly in the library's compact LIST-mode
format (8-byte preamble + the members' 32-bit coupons in update order), with the coupon of
each member taken from a one-member sketch the library built once per member; larger
groups go through the library in a tight loop. Both paths yield byte-identical sketches to
`keyart.sketches.build` over the same members in ascending order (tested).
"""

from __future__ import annotations

import datasketches as ds
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from keyart.sketches import TGT_TYPE

_CHUNK_PAIRS = 1 << 20  # members turned into Python ints at a time (bounds memory)
LIST_MAX = 7  # the library keeps up to 7 coupons in LIST mode, then switches mode
_PREAMBLE = (
    2,
    1,
    7,
    0,
    3,
    8,
    0,
    0,
)  # preInts, serVer, family HLL, lgK, lgArr, compact, n, LIST|HLL_4


def coupon_table(members: npt.NDArray[np.int64], lg_k: int) -> pa.Table:
    """member_id, coupon (uint32) and clash (another member has the same coupon) for each
    distinct member id given, using one library-built one-member sketch per member."""
    members = np.asarray(members, dtype=np.int64)
    coupons = np.empty(len(members), dtype=np.uint32)
    for i, member in enumerate(members.tolist()):
        sketch = ds.hll_sketch(lg_k, TGT_TYPE)
        sketch.update(member)
        coupons[i] = int.from_bytes(sketch.serialize_compact()[8:12], "little")
    ordered = np.sort(coupons)
    shared = ordered[1:][ordered[1:] == ordered[:-1]]
    clash = np.isin(coupons, shared) if len(shared) else np.zeros(len(coupons), dtype=bool)
    return pa.table({"member_id": members, "coupon": coupons, "clash": clash})


class GroupSketcher:
    """Builds compact HLL_4 sketches (the format of `keyart.sketches`) for many groups."""

    def __init__(self, lg_k: int) -> None:
        self.lg_k = lg_k
        self.library_updates = 0  # values fed to the library one by one (for benchmarks)

    def build(
        self,
        groups: npt.NDArray[np.int64],
        members: npt.NDArray[np.int64],
        coupons: npt.NDArray[np.uint32] | None,
        clash: npt.NDArray[np.bool_] | None,
        n_groups: int,
    ) -> pa.BinaryArray:
        """Sketch per group 0..n_groups-1 of the members paired with it (NULL for a group
        without members). Pairs must be distinct and sorted by group (and, for sketches
        byte-identical to the library's, by member within it). `coupons`/`clash` come from
        `coupon_table` for each pair's member; without them every group goes through the
        library (right for large groups)."""
        if len(groups) == 0:
            return pa.nulls(n_groups, pa.binary())
        groups = np.asarray(groups, dtype=np.int64)
        counts = np.bincount(groups, minlength=n_groups)
        ends = np.cumsum(counts)
        starts = ends - counts
        # two members sharing a coupon make the library keep one: leave such groups to the
        # library (rare, but results must stay byte-identical)
        if coupons is None or clash is None:
            small = np.zeros(n_groups, dtype=bool)
            coupons = np.empty(0, dtype=np.uint32)
        else:
            shared = np.bincount(groups, weights=clash.astype(np.float64), minlength=n_groups)
            small = (counts >= 1) & (counts <= LIST_MAX) & (shared == 0)
        small_idx = np.flatnonzero(small)
        large_idx = np.flatnonzero((counts > 0) & ~small)

        parts = [self._list_mode(np.asarray(coupons, dtype=np.uint32), small_idx, counts, starts)]
        parts.extend(self._library(np.asarray(members), starts[large_idx], ends[large_idx]))
        position = np.full(n_groups, -1, dtype=np.int64)
        position[small_idx] = np.arange(len(small_idx))
        position[large_idx] = len(small_idx) + np.arange(len(large_idx))
        values = pa.concat_arrays(parts) if len(parts) > 1 else parts[0]
        return values.take(pa.array(position, mask=position < 0))

    def _list_mode(
        self,
        coupons: npt.NDArray[np.uint32],
        idx: npt.NDArray[np.int64],
        counts: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
    ) -> pa.Array:
        n = counts[idx]
        sizes = 8 + 4 * n
        offsets = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        buf = np.zeros(int(offsets[-1]), dtype=np.uint8)
        head = offsets[:-1]
        for j, byte in enumerate(_PREAMBLE):
            buf[head + j] = byte
        buf[head + 3] = self.lg_k
        buf[head + 6] = n
        # every sketch starts at a multiple of 4, so coupons land on aligned uint32 slots
        words = buf.view(np.uint32)
        local = np.repeat(np.arange(len(idx)), n)  # which output sketch each coupon goes to
        rank = np.arange(len(local)) - np.repeat(np.cumsum(n) - n, n)  # its place in it
        words[(head[local] + 8) // 4 + rank] = coupons[starts[idx][local] + rank]
        return pa.Array.from_buffers(
            pa.large_binary(),
            len(idx),
            [None, pa.py_buffer(offsets), pa.py_buffer(buf)],
        ).cast(pa.binary())

    def _library(
        self,
        members: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
        ends: npt.NDArray[np.int64],
    ) -> list[pa.Array]:
        out: list[pa.Array] = []
        lg_k, tgt = self.lg_k, TGT_TYPE
        i, n = 0, len(starts)
        while i < n:
            # whole groups until about _CHUNK_PAIRS members are covered
            j = max(int(np.searchsorted(ends, starts[i] + _CHUNK_PAIRS, "right")), i + 1)
            base = int(starts[i])
            ids = members[base : int(ends[j - 1])].tolist()
            blobs: list[bytes] = []
            for s, e in zip(
                (starts[i:j] - base).tolist(), (ends[i:j] - base).tolist(), strict=True
            ):
                sketch = ds.hll_sketch(lg_k, tgt)
                update = sketch.update
                for member in ids[s:e]:
                    update(member)
                blobs.append(bytes(sketch.serialize_compact()))
                self.library_updates += e - s
            out.append(pa.array(blobs, pa.binary()))
            i = j
        return out


__all__ = ["LIST_MAX", "GroupSketcher", "coupon_table"]
