"""Sketches written from coupons hold what the library's member-by-member sketches hold:
the same estimate while a sketch lists its coupons, the same HLL registers beyond (a union
with the library's sketch changes nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from keyart import sketches
from keyart.sketches import wire
from keyart.sketches.groups import coupon_table
from keyart.sketches.packed import PackedSketcher
from keyart.sketches.wire import LIST_MAX
from tests.sketches.grouped import random_groups


@pytest.mark.parametrize("lg_k", [4, 11, 14])
def test_estimates_match_the_library(lg_k: int) -> None:
    data = random_groups(lg_k, [0, 1, 3, LIST_MAX, LIST_MAX + 1, 40, 700, 2500], 120)
    sizes, groups, members = data.sizes, data.groups, data.members
    coupons, clash = data.coupons, data.clash
    built = PackedSketcher(lg_k).build(groups, members, coupons, clash, len(sizes))
    for g, size in enumerate(sizes):
        blob = built[g].as_py()
        if not size:
            assert blob is None
            continue
        library = sketches.build(members[groups == g].tolist(), lg_k)
        if len(np.unique(coupons[groups == g])) <= wire.capacity(lg_k):
            # LIST or SET mode: the estimate depends on the coupons only
            got = sketches.estimate_blobs([blob], lg_k)
            assert got == sketches.estimate_blobs([library], lg_k), (g, size)
        else:
            # HLL mode: unions estimate from the registers alone, which must be the same
            both = sketches.estimate_blobs([blob, library], lg_k)
            assert both == sketches.estimate_blobs([blob, blob], lg_k), (g, size)
            assert both == sketches.estimate_blobs([library, library], lg_k), (g, size)


def test_members_sharing_a_coupon_count_once() -> None:
    ids = np.arange(1, 400_000, dtype=np.int64)
    table = coupon_table(ids, 14)
    coupons = table.column("coupon").to_numpy()
    clash = table.column("clash").to_numpy(zero_copy_only=False)
    shared = coupons[clash]
    pair = ids[clash][shared == shared[0]][:2]
    assert len(pair) == 2
    # one group of the pair alone, one of the pair among 10 others, one without it
    groups = [pair, np.sort(np.r_[pair, ids[~clash][:10]]), ids[~clash][10:13]]
    members = np.concatenate(groups)
    built = PackedSketcher(14).build(
        np.repeat(np.arange(3), [len(g) for g in groups]),
        members,
        coupons[members - 1],
        clash[members - 1],
        3,
    )
    for g, group in enumerate(groups):
        library = sketches.build(group.tolist(), 14)
        got = sketches.estimate_blobs([built[g].as_py()], 14)
        assert got == sketches.estimate_blobs([library], 14)
    assert sketches.estimate_blobs([built[0].as_py()], 14).value == pytest.approx(1.0)
