import datasketches as ds
import pytest

from keyart import sketches


def test_build_merge_estimate_counts_each_member_once() -> None:
    a = sketches.build(range(0, 60_000), lg_k=14)
    b = sketches.build(range(40_000, 100_000), lg_k=14)
    est = sketches.estimate_blobs([a, None, b], lg_k=14)
    assert est.lower <= 100_000 <= est.upper
    assert est.lower < est.value < est.upper


def test_small_sketches_are_exact_and_empty_is_zero() -> None:
    est = sketches.estimate_blobs([sketches.build([5, 7, 7, 11], lg_k=14)], lg_k=14)
    # list mode: estimate within float rounding of the exact count, bounds contain it
    assert est.value == pytest.approx(3.0)
    assert est.lower <= 3 <= est.upper
    assert sketches.estimate_blobs([None, None], lg_k=14).value == 0.0
    assert sketches.merge_bytes([], lg_k=14) is None


def test_sketches_are_plain_datasketches_hll_of_int64_ids() -> None:
    ids = [-(2**63), 2**63 - 1, 123_456_789_012]
    blob = sketches.build(ids, lg_k=12)
    sk = ds.hll_sketch.deserialize(blob)
    assert sk.lg_config_k == 12
    assert sk.tgt_type == ds.tgt_hll_type.HLL_4
    other = ds.hll_sketch(12)
    for member in ids:
        other.update(member)
    union = ds.hll_union(12)
    union.update(sk)
    union.update(other)
    assert union.get_estimate() == pytest.approx(3.0)
