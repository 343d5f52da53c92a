"""Random groups of members with their coupons: the input both group sketchers are tested on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from keyart.sketches.groups import coupon_table


@dataclass(frozen=True)
class Grouped:
    """Distinct members sorted within each group, with each pair's coupon and clash flag."""

    sizes: npt.NDArray[np.int64]
    groups: npt.NDArray[np.int64]
    members: npt.NDArray[np.int64]
    coupons: npt.NDArray[np.uint32]
    clash: npt.NDArray[np.bool_]


def random_groups(lg_k: int, size_choices: Sequence[int], n_groups: int) -> Grouped:
    """`n_groups` groups of sizes drawn from `size_choices`, seeded by `lg_k`."""
    rng = np.random.default_rng(lg_k)
    sizes = rng.choice(np.asarray(size_choices), n_groups)
    groups = np.repeat(np.arange(len(sizes)), sizes)
    members = np.concatenate([np.sort(rng.choice(2**40, s, replace=False)) for s in sizes]).astype(
        np.int64
    )
    distinct = np.unique(members)
    table = coupon_table(distinct, lg_k)
    index = np.searchsorted(distinct, members)
    coupons = table.column("coupon").to_numpy()[index]
    clash = table.column("clash").to_numpy(zero_copy_only=False)[index]
    return Grouped(sizes, groups, members, coupons, clash)
