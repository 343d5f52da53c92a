"""Vectorised sketch unions agree with DataSketches' own union, mode by mode."""

from __future__ import annotations

import random
import statistics

import pyarrow as pa
import pytest

from keyart import sketches
from keyart.query.results import ZERO
from keyart.sketches.unions import group_estimates, group_sketches


def _groups(
    rng: random.Random, n_groups: int, sizes: tuple[int, int], per_blob: tuple[int, int], lg_k: int
) -> tuple[list[list[bytes]], list[int]]:
    """Groups of sketches over overlapping member sets, with the exact distinct count."""
    lists, truth = [], []
    for _ in range(n_groups):
        pool = [rng.getrandbits(62) for _ in range(rng.randint(*sizes))]
        seen: set[int] = set()
        blobs = []
        for _ in range(rng.randint(1, 40)):
            members = rng.sample(pool, min(len(pool), rng.randint(*per_blob)))
            seen.update(members)
            blobs.append(sketches.build(members, lg_k))
        lists.append(blobs)
        truth.append(len(seen))
    return lists, truth


STRATEGIES = ["plain", "packed", "small", "auto"]  # "small": group_estimates only


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("lg_k", [8, 12, 14])
def test_exact_regime_matches_the_library(lg_k: int, strategy: str) -> None:
    """While a union stays in LIST/SET mode its estimate depends only on the coupon set."""
    rng = random.Random(lg_k)
    lists, _ = _groups(rng, 60, (1, 40), (1, 12), lg_k)  # small: LIST, SET blobs
    got = group_estimates(pa.array(lists, pa.list_(pa.binary())), lg_k, strategy)
    checked = 0
    for blobs, est in zip(lists, got, strict=True):
        want = sketches.estimate_blobs(blobs, lg_k)
        union = sketches.merge(blobs, lg_k)
        assert union is not None
        if union.serialize_compact()[7] & 3 != 2:  # the union stayed in LIST or SET mode
            checked += 1
            assert est == want
    assert checked >= 30


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("lg_k", [6, 10])
def test_estimation_regime_is_unbiased_and_covered(lg_k: int, strategy: str) -> None:
    """Mixed LIST/SET/HLL inputs far beyond K members: bounds cover the truth in >= 95%
    of groups and the mean relative error is near zero (HIP needs a scrambled order)."""
    rng = random.Random(100 + lg_k)
    lists, truth = _groups(rng, 120, (500, 4000), (1, 600), lg_k)
    got = group_estimates(pa.array(lists, pa.list_(pa.binary())), lg_k, strategy)
    inside = sum(e.lower <= t <= e.upper for e, t in zip(got, truth, strict=True))
    assert inside >= 0.95 * len(truth)
    rel = [e.value / t - 1 for e, t in zip(got, truth, strict=True)]
    assert abs(statistics.fmean(rel)) < 0.02
    library = [
        sketches.estimate_blobs(b, lg_k).value / t - 1 for b, t in zip(lists, truth, strict=True)
    ]
    assert statistics.pstdev(rel) < 1.5 * statistics.pstdev(library) + 0.01


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("lg_k", [8, 14])
def test_order_of_blobs_does_not_change_the_answer(strategy: str, lg_k: int) -> None:
    """Groups that stay in LIST/SET mode (united in storage order) and groups that reach
    HLL mode (united in a fixed order) alike, in one column."""
    rng = random.Random(3)
    lists, _ = _groups(rng, 30, (200, 3000), (1, 300), lg_k)
    small, _ = _groups(rng, 30, (1, 60), (1, 12), lg_k)
    lists += small
    shuffled = [rng.sample(blobs, len(blobs)) for blobs in lists]
    a = group_estimates(pa.array(lists, pa.list_(pa.binary())), lg_k, strategy)
    b = group_estimates(pa.array(shuffled, pa.list_(pa.binary())), lg_k, strategy)
    assert a == b
    if lg_k == 14:  # at most 60 members: every small union stays in LIST/SET mode
        assert a[30:] == [sketches.estimate_blobs(blobs, lg_k) for blobs in small]


def test_strategies_agree_closely() -> None:
    rng = random.Random(4)
    lists, truth = _groups(rng, 40, (100, 5000), (1, 50), 12)
    arr = pa.array(lists, pa.list_(pa.binary()))
    plain = group_estimates(arr, 12, "plain")
    packed = group_estimates(arr, 12, "packed")
    for p, q, t in zip(plain, packed, truth, strict=True):
        assert abs(p.value - q.value) <= 0.05 * t
    with pytest.raises(ValueError):
        group_estimates(arr, 12, "fastest")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_nulls_empties_and_slices(strategy: str) -> None:
    one = sketches.build([1, 2, 3], 12)
    empty = sketches.build([], 12)
    arr = pa.array([[one], None, [], [empty], [one, one], [empty, one]], pa.list_(pa.binary()))
    got = group_estimates(arr, 12, strategy)
    three = sketches.estimate_blobs([one], 12)
    assert got == [three, ZERO, ZERO, ZERO, three, three]
    # a slice and a chunked array read the right rows
    assert group_estimates(arr.slice(4, 2), 12, strategy) == [three, three]
    chunked = pa.chunked_array([arr.slice(0, 2), arr.slice(2, 4)])
    assert group_estimates(chunked, 12, strategy) == got


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_corrupt_blob_raises(strategy: str) -> None:
    arr = pa.array([[b"\x02\x01\x07\x0c\x03\x08\x09\x00garbage"]], pa.list_(pa.binary()))
    with pytest.raises((ValueError, RuntimeError, IndexError)):
        group_estimates(arr, 12, strategy)


@pytest.mark.parametrize("strategy", ["plain", "packed", "auto"])
def test_group_sketches_unite_and_keep_single_sketches(strategy: str) -> None:
    rng = random.Random(8)
    lists, truth = _groups(rng, 50, (1, 3000), (1, 200), 12)
    lists += [
        [sketches.build([7, 8, 9], 12)],
        [],
        [sketches.build([], 12), sketches.build([5], 12)],
    ]
    arr = pa.array(lists, pa.list_(pa.binary()))
    merged = group_sketches(arr, 12, strategy)
    estimates = group_estimates(arr, 12, strategy)
    truth += [3, 0, 1]
    assert merged[-3] == lists[-3][0]  # a lone sketch is kept byte for byte
    assert merged[-2] is None
    assert merged[-1] == lists[-1][1]  # empty sketches do not count
    inside = 0
    for blob, est, t in zip(merged, estimates, truth, strict=True):
        # the merged sketch estimates about what the union of the group's sketches does
        again = sketches.estimate_blobs([blob], 12)
        assert abs(again.value - est.value) <= 0.03 * t
        inside += again.lower <= t <= again.upper
    assert inside >= 0.95 * len(truth)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_python_lists_answer_as_arrow_does(strategy: str) -> None:
    """A column fetched as Python lists (few rows) gives the estimates of the same column
    as Arrow, below and above the size where numpy takes over."""
    rng = random.Random(9)
    for n_groups in (3, 60):  # ~60 and ~1,200 blobs
        lists, _ = _groups(rng, n_groups, (1, 3000), (1, 300), 12)
        rows: list[list[bytes | None] | None] = [list(blobs) for blobs in lists]
        rows += [None, []]
        arrow = pa.array(rows, pa.list_(pa.binary()))
        assert group_estimates(rows, 12, strategy) == group_estimates(arrow, 12, strategy)


@pytest.mark.parametrize("lg_k", [8, 12])
def test_small_and_plain_unite_in_the_same_order(lg_k: int) -> None:
    """Both unite a group in storage order unless it may reach HLL mode, then in checksum
    order: the same estimates, digit for digit, in both regimes."""
    rng = random.Random(10 + lg_k)
    lists, _ = _groups(rng, 80, (1, 3000), (1, 300), lg_k)
    arr = pa.array(lists, pa.list_(pa.binary()))
    assert group_estimates(arr, lg_k, "small") == group_estimates(arr, lg_k, "plain")
