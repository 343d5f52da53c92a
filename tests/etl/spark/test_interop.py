"""Sketch compatibility (DESIGN §2): Spark's hll_sketch_agg on a LONG column and keyart's
Python sketches hash identically and merge with each other."""

from __future__ import annotations

import random
from typing import Any

import datasketches as ds
import pytest

from keyart import sketches
from keyart.etl.spark.sketches import to_compact_hll4

pytestmark = pytest.mark.spark

LG_K = 14
_COMPACT_FLAG = 0x08  # byte 5 of the HLL preamble holds the flags


def _spark_sketch(spark: Any, ids: list[int], lg_k: int = LG_K, slices: int = 2) -> bytes:
    from pyspark.sql import functions as F

    df = spark.createDataFrame([(i,) for i in ids], "member_id LONG").repartition(slices)
    return bytes(df.agg(F.hll_sketch_agg("member_id", lg_k)).collect()[0][0])


def _composite(blob: bytes) -> float:
    """Estimate from the registers alone: a self-union marks the sketch out of order, so
    HIP (which depends on update order) is replaced by the order-free composite estimator."""
    union = ds.hll_union(LG_K)
    union.update(ds.hll_sketch.deserialize(blob))
    union.update(ds.hll_sketch.deserialize(blob))
    return float(union.get_result(ds.tgt_hll_type.HLL_4).get_estimate())


@pytest.fixture(scope="module")
def member_ids() -> list[int]:
    rng = random.Random(11)
    # large int64 ids, negatives included: the hash must agree on all 8 bytes
    ids = {rng.randint(-(2**63), 2**63 - 1) for _ in range(20_000)}
    return sorted(ids, key=lambda _: rng.random())


def test_spark_builds_datasketches_hll_of_the_requested_lg_k(spark: Any) -> None:
    blob = _spark_sketch(spark, [1, 2, 2, 3])
    sketch = ds.hll_sketch.deserialize(blob)
    assert sketch.lg_config_k == LG_K
    # Spark 3.5/4.x serialise an updatable HLL_8; keyart stores compact HLL_4 (converted)
    assert sketch.tgt_type == ds.tgt_hll_type.HLL_8
    assert not blob[5] & _COMPACT_FLAG
    assert sketch.get_estimate() == pytest.approx(3.0)


def test_spark_and_python_sketches_of_the_same_ids_hold_the_same_registers(
    spark: Any, member_ids: list[int]
) -> None:
    spark_blob = _spark_sketch(spark, member_ids)
    python_blob = sketches.build(member_ids, LG_K)
    assert _composite(spark_blob) == _composite(python_blob)
    # a union of the two counts every member once: it equals either side alone
    union = sketches.estimate_blobs([spark_blob, python_blob], LG_K)
    assert union.value == _composite(python_blob)
    assert union.lower <= len(member_ids) <= union.upper


def test_in_order_sketches_estimate_identically(spark: Any, member_ids: list[int]) -> None:
    # one partition: Spark updates one sketch in order, exactly like sketches.build
    ordered = sorted(member_ids)
    spark_blob = _spark_sketch(spark, ordered, slices=1)
    python_blob = sketches.build(ordered, LG_K)
    assert ds.hll_sketch.deserialize(spark_blob).get_estimate() == pytest.approx(
        ds.hll_sketch.deserialize(python_blob).get_estimate(), rel=1e-12
    )


def test_union_of_overlapping_spark_and_python_sketches_counts_members_once(
    spark: Any, member_ids: list[int]
) -> None:
    left, right = member_ids[:12_000], member_ids[8_000:]  # 4,000 in both
    union = sketches.estimate_blobs([_spark_sketch(spark, left), sketches.build(right, LG_K)], LG_K)
    assert union.lower <= len(set(member_ids)) <= union.upper
    # and Spark's own hll_union_agg reads keyart's compact HLL_4 sketches
    from pyspark.sql import functions as F

    blobs = [(bytearray(_spark_sketch(spark, left)),), (bytearray(sketches.build(right, LG_K)),)]
    df = spark.createDataFrame(blobs, "s BINARY")
    spark_estimate = df.agg(F.hll_sketch_estimate(F.hll_union_agg("s"))).collect()[0][0]
    assert abs(spark_estimate - len(member_ids)) <= union.upper - union.lower


def test_small_sketches_are_exact_in_every_engine(spark: Any) -> None:
    ids = list(range(1_000, 1_700))  # list/set mode: the estimate is the coupon count
    spark_blob = _spark_sketch(spark, ids)
    assert ds.hll_sketch.deserialize(spark_blob).get_estimate() == pytest.approx(
        ds.hll_sketch.deserialize(sketches.build(ids, LG_K)).get_estimate()
    )


def test_conversion_to_compact_hll4_keeps_the_estimate(spark: Any, member_ids: list[int]) -> None:
    for ids in (member_ids[:5], member_ids[:500], member_ids):
        blob = _spark_sketch(spark, ids)
        converted = to_compact_hll4(blob, LG_K)
        sketch = ds.hll_sketch.deserialize(converted)
        assert sketch.tgt_type == ds.tgt_hll_type.HLL_4
        assert converted[5] & _COMPACT_FLAG
        assert sketch.get_estimate() == ds.hll_sketch.deserialize(blob).get_estimate()
        assert len(converted) <= len(blob)
        assert _composite(converted) == _composite(sketches.build(ids, LG_K))


def test_unions_refuse_mixed_lg_k_unless_allowed(spark: Any, member_ids: list[int]) -> None:
    from pyspark.sql import functions as F

    blobs = [
        (bytearray(_spark_sketch(spark, member_ids[:100], lg_k=14)),),
        (bytearray(sketches.build(member_ids[100:200], 12)),),
    ]
    df = spark.createDataFrame(blobs, "s BINARY")
    with pytest.raises(Exception, match="HLL_UNION_DIFFERENT_LG_K"):
        df.agg(F.hll_union_agg("s")).collect()
    merged = bytes(df.agg(F.hll_union_agg("s", True)).collect()[0][0])
    assert ds.hll_sketch.deserialize(merged).get_estimate() == pytest.approx(200, abs=1)
