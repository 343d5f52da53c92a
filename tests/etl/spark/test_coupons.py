"""The numpy coupons of the Spark engine's day builder are the DataSketches library's."""

from __future__ import annotations

import numpy as np
import pytest

from keyart.etl.spark.coupons import coupon_table
from keyart.sketches.groups import coupon_table as library_coupon_table


@pytest.mark.parametrize("lg_k", [4, 14, 21])
def test_coupons_equal_the_library_one_member_sketches(lg_k: int) -> None:
    rng = np.random.default_rng(lg_k)
    edges = [0, 1, -1, 2**63 - 1, -(2**63), 2**32, 2**32 - 1]
    members = np.unique(
        np.r_[rng.integers(-(2**63), 2**63 - 1, 20_000, dtype=np.int64), edges, np.arange(500)]
    ).astype(np.int64)
    ours, library = coupon_table(members), library_coupon_table(members, lg_k)
    assert ours.column("coupon").equals(library.column("coupon"))
    assert ours.column("clash").equals(library.column("clash"))


def test_members_sharing_a_coupon_are_flagged() -> None:
    # among 2^17 ids some coupons repeat (26-bit slots, 6-bit values): found by brute force,
    # not planted, so the flag is checked against a plain count of each coupon
    members = np.arange(1 << 17, dtype=np.int64)
    table = coupon_table(members)
    found = table.column("coupon").to_numpy()
    values, counts = np.unique(found, return_counts=True)
    shared = set(values[counts > 1].tolist())
    assert shared, "expected some shared coupons among 2^17 ids"
    expected = np.array([c in shared for c in found.tolist()])
    assert np.array_equal(table.column("clash").to_numpy(zero_copy_only=False), expected)
