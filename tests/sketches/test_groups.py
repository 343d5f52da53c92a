"""The grouped sketch builder writes exactly the sketches the DataSketches library builds."""

from __future__ import annotations

import numpy as np
import pytest

from keyart import sketches
from keyart.sketches.groups import GroupSketcher, coupon_table
from keyart.sketches.wire import LIST_MAX
from tests.sketches.grouped import random_groups


@pytest.mark.parametrize("lg_k", [4, 11, 14, 21])
def test_byte_identical_to_library(lg_k: int) -> None:
    data = random_groups(lg_k, [0, 1, 2, 3, LIST_MAX, LIST_MAX + 1, 40, 700], 400)
    sizes, groups, members = data.sizes, data.groups, data.members
    coupons, clash = data.coupons, data.clash
    for use_coupons in (True, False):
        built = GroupSketcher(lg_k).build(
            groups,
            members,
            coupons if use_coupons else None,
            clash if use_coupons else None,
            len(sizes),
        )
        for g, size in enumerate(sizes):
            ids = members[groups == g].tolist()
            expected = sketches.build(ids, lg_k) if size else None
            assert built[g].as_py() == expected, (g, size)


def test_members_sharing_a_coupon_go_through_the_library() -> None:
    # find two ids with the same coupon among many, then sketch them together
    ids = np.arange(1, 400_000, dtype=np.int64)
    table = coupon_table(ids, 14)
    clash = table.column("clash").to_numpy(zero_copy_only=False)
    pair = ids[clash][:2]
    coupons = table.column("coupon").to_numpy()
    if len(pair) < 2 or coupons[pair[0] - 1] != coupons[pair[1] - 1]:
        same = coupons[clash]
        first = ids[clash][same == same[0]][:2]
        pair = first
    groups = np.zeros(len(pair), dtype=np.int64)
    built = GroupSketcher(14).build(
        groups, np.sort(pair), coupons[np.sort(pair) - 1], np.ones(len(pair), bool), 1
    )
    assert built[0].as_py() == sketches.build(np.sort(pair).tolist(), 14)
    assert sketches.estimate_blobs([built[0].as_py()], 14).value == pytest.approx(1.0)
