"""The numpy reading and writing of the serialised layout agrees with DataSketches itself."""

from __future__ import annotations

import datasketches as ds
import numpy as np
import pyarrow as pa
import pytest

from keyart import sketches
from keyart.sketches import wire


def _blobs(*groups: list[int], lg_k: int) -> pa.BinaryArray:
    return pa.array([sketches.build(g, lg_k) for g in groups], pa.binary())


def test_preambles_tell_coupon_lists_from_library_sketches() -> None:
    lg_k = 10
    # 3 members: LIST mode; 50: SET mode; 5,000: HLL mode; an empty sketch
    values = _blobs([1, 2, 3], list(range(50)), list(range(5_000)), [], lg_k=lg_k)
    data, offsets = wire.binary_buffers(values)
    starts, lengths = offsets[:-1], np.diff(offsets)
    read = wire.read_preambles(data, starts, lengths, np.ones(len(values), dtype=bool))
    assert read.count.tolist() == [3, 50, 0, 0]
    assert read.library.tolist() == [False, False, True, False]
    assert read.empty.tolist() == [False, False, False, True]
    # the coupons read are the library's own: the LIST sketch's are its members' coupons
    coupons = wire.u32(data, read.first_coupon[0] + 4 * np.arange(3))
    singles = [wire.first_coupon(sketches.build([m], lg_k)) for m in (1, 2, 3)]
    assert sorted(coupons.tolist()) == sorted(singles)


@pytest.mark.parametrize(("lg_k", "big"), [(5, 7), (12, 40)])
def test_packed_coupons_make_sketches_the_library_reads_as_the_same_members(
    lg_k: int, big: int
) -> None:
    # groups small enough that their union stays a coupon list: estimates are exact
    groups = [list(range(0, big)), [], list(range(100, 103))]
    coupons: list[int] = []
    bounds = [0]
    for members in groups:
        found = {wire.first_coupon(sketches.build([m], lg_k)) for m in members}
        coupons += sorted(found)
        bounds.append(len(coupons))
    buf, offsets, first = wire.pack(np.array(coupons, np.uint32), np.array(bounds, np.int64), lg_k)
    for g, members in enumerate(groups):
        union = ds.hll_union(lg_k)
        for b in range(int(first[g]), int(first[g + 1])):
            union.update(ds.hll_sketch.deserialize(buf[int(offsets[b]) : int(offsets[b + 1])]))
        expected = sketches.estimate_blobs([sketches.build(members, lg_k)], lg_k)
        assert union.get_estimate() == pytest.approx(expected.value)
        assert round(union.get_estimate()) == len(members)
    assert wire.capacity(5) == wire.LIST_MAX
