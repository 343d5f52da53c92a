"""Builds one HLL sketch per group straight from its members' coupons, without feeding
members to the library one by one: for groups too large for LIST mode that path costs
~220 ns per member under the GIL, while a compact SET-mode sketch is just its distinct
coupons behind a preamble (`keyart.sketches.wire.pack`).

A group of at most 7 distinct coupons becomes a LIST-mode sketch, one of up to
`wire.capacity(lg_k)` a SET-mode sketch, both written with numpy; a larger group (its
HLL-mode sketch) is the library's union of its packed SET sketches
(`keyart.sketches.unions.group_sketches`). A sketch holds the same coupons, so
estimates the same member set, as one the library builds member by member; its bytes may
differ (coupon order; a union's HLL-mode result estimates without the HIP accumulator).
Used where estimates, not bytes, must match: the serving layout's tables merged over
countries (docs/serving-layout.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from keyart.sketches import wire
from keyart.sketches.groups import GroupSketcher, binary_array
from keyart.sketches.unions import group_sketches
from keyart.sketches.wire import LIST_MAX

I64 = npt.NDArray[np.int64]


def _distinct(
    group: I64, coupons: npt.NDArray[np.uint32], clash: npt.NDArray[np.bool_]
) -> tuple[I64, npt.NDArray[np.uint32]]:
    """(group, coupon) pairs with the repeats of a coupon within a group dropped: only a
    member whose coupon another member shares (`clash`) can repeat one, so only those
    pairs are sorted."""
    shared = np.flatnonzero(clash)
    if not len(shared):
        return group, coupons
    keys = (group[shared].astype(np.uint64) << np.uint64(32)) | coupons[shared]
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    repeat = np.zeros(len(shared), dtype=bool)
    repeat[order[1:]] = ordered[1:] == ordered[:-1]
    keep = np.ones(len(group), dtype=bool)
    keep[shared[repeat]] = False
    return group[keep], coupons[keep]


class PackedSketcher(GroupSketcher):
    """A GroupSketcher that writes every group's sketch from its distinct coupons."""

    def build_runs(
        self,
        counts: npt.NDArray[np.int64],
        members: npt.NDArray[np.int64],
        coupons: npt.NDArray[np.uint32] | None,
        clash: npt.NDArray[np.bool_] | None,
    ) -> pa.Array:
        """Like GroupSketcher.build_runs (group g owns the next counts[g] members), the
        sketches built from the members' coupons (through the library without them)."""
        if coupons is None or clash is None:
            return super().build_runs(counts, members, coupons, clash)
        n = len(counts)
        counts = np.asarray(counts, dtype=np.int64)
        key_group, key_coupon = _distinct(
            np.repeat(np.arange(n, dtype=np.int64), counts),
            np.asarray(coupons, np.uint32),
            np.asarray(clash, dtype=bool),
        )
        bounds = np.searchsorted(key_group, np.arange(n + 1, dtype=np.int64))
        distinct = np.diff(bounds)
        small = (distinct >= 1) & (distinct <= LIST_MAX)
        big = np.flatnonzero(distinct > LIST_MAX)
        in_big = (distinct > LIST_MAX)[key_group]
        big_bounds = np.zeros(len(big) + 1, dtype=np.int64)
        np.cumsum(distinct[big], out=big_bounds[1:])
        packed, blob_at, first_blob = wire.pack(key_coupon[in_big], big_bounds, self.lg_k)
        chunks = np.diff(first_blob)
        one = chunks == 1  # fits one SET sketch: that sketch is the group's
        many = np.flatnonzero(~one)
        united = self._united(packed, blob_at, first_blob, many)

        sizes = np.where(small, wire.LIST_HEAD + 4 * distinct, 0)
        head = first_blob[:-1]
        sizes[big[one]] = (blob_at[head + 1] - blob_at[head])[one]
        if len(many):
            sizes[big[many]] = [len(b) for b in united]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        buf = np.empty(int(offsets[-1]), dtype=np.uint8)
        if small.any():
            self._list_mode(buf, offsets, small, distinct, bounds[:-1], key_coupon)
        # single SET sketches and unions, each copied to its group's offset
        pieces = [np.frombuffer(packed, dtype=np.uint8)]
        src_at = [blob_at[head[one]]]
        lengths = [sizes[big[one]]]
        dest = [offsets[big[one]]]
        if len(many):
            pieces.append(np.frombuffer(b"".join(united), dtype=np.uint8))
            lengths.append(sizes[big[many]])
            src_at.append(len(packed) + np.cumsum(lengths[-1]) - lengths[-1])
            dest.append(offsets[big[many]])
        source = np.concatenate(pieces)
        length = np.concatenate(lengths)
        starts = np.concatenate(src_at)
        within = np.arange(int(length.sum()), dtype=np.int64) - np.repeat(
            np.cumsum(length) - length, length
        )
        buf[np.repeat(np.concatenate(dest), length) + within] = source[
            np.repeat(starts, length) + within
        ]
        return binary_array(offsets, buf, distinct > 0)

    def _united(self, packed: bytes, blob_at: I64, first_blob: I64, groups: I64) -> list[bytes]:
        """The library's union of each of `groups`' packed sketches (groups too large for
        one SET sketch: their sketch is in HLL mode)."""
        if not len(groups):
            return []
        lo, hi = first_blob[groups], first_blob[groups + 1]
        per = hi - lo
        blob = np.repeat(lo - (np.cumsum(per) - per), per) + np.arange(int(per.sum()))
        values = pa.array([packed[blob_at[b] : blob_at[b + 1]] for b in blob.tolist()])
        offsets = np.zeros(len(groups) + 1, dtype=np.int32)
        np.cumsum(per, out=offsets[1:])
        lists = pa.ListArray.from_arrays(pa.array(offsets), values)
        blobs = group_sketches(lists, self.lg_k, "packed")
        self.library_sketches += len(groups)
        return [b for b in blobs if b is not None]


__all__ = ["PackedSketcher"]
