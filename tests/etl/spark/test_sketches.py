"""The conversion of Spark's updatable HLL_8 sketches to the warehouse's compact HLL_4."""

from __future__ import annotations

import random

import datasketches as ds
import pyarrow as pa
import pytest

from keyart import sketches
from keyart.etl.spark.sketches import convert_column, to_compact_hll4

LG_K = 14


def _updatable_hll8(ids: list[int], lg_k: int = LG_K) -> bytes:
    """The form Spark's hll_sketch_agg returns (same layout from the C++ library)."""
    sketch = ds.hll_sketch(lg_k, ds.tgt_hll_type.HLL_8)
    for member in ids:
        sketch.update(member)
    return bytes(sketch.serialize_updatable())


@pytest.fixture(scope="module")
def groups() -> list[list[int]]:
    rng = random.Random(5)
    sizes = [1, 2, 3, 7, 8, 50, 700, 3_000, *(rng.randint(1, 7) for _ in range(300))]
    return [[rng.randint(-(2**63), 2**63 - 1) for _ in range(n)] for n in sizes]


def test_conversion_is_byte_identical_to_the_library_union(groups: list[list[int]]) -> None:
    blobs: list[bytes | None] = [_updatable_hll8(ids) for ids in groups]
    blobs.insert(3, None)
    converted = convert_column(pa.chunked_array([pa.array(blobs, pa.binary())]), LG_K)
    expected = [None if b is None else to_compact_hll4(b, LG_K) for b in blobs]
    assert converted.type == pa.binary()
    assert converted.to_pylist() == expected


def test_converted_sketches_are_compact_hll4_with_the_same_members(
    groups: list[list[int]],
) -> None:
    converted = convert_column([_updatable_hll8(ids) for ids in groups], LG_K).to_pylist()
    for ids, blob in zip(groups, converted, strict=True):
        assert blob is not None
        assert blob[5] & 0x08  # compact
        assert (blob[7] >> 2) & 0x03 == 0  # HLL_4 target
        sketch = ds.hll_sketch.deserialize(blob)
        python = ds.hll_sketch.deserialize(sketches.build(ids, LG_K))
        assert sketch.get_estimate() == pytest.approx(python.get_estimate(), rel=1e-12)
        lower, upper = sketch.get_lower_bound(2), sketch.get_upper_bound(2)
        assert lower <= len(set(ids)) <= upper


def test_small_list_sketches_match_keyart_python_sketches_byte_for_byte() -> None:
    ids = [11, -5, 2**40]  # LIST mode keeps coupons in update order
    (blob,) = convert_column([_updatable_hll8(ids)], LG_K).to_pylist()
    assert blob == sketches.build(ids, LG_K)


def test_empty_and_all_null_columns() -> None:
    assert convert_column([], LG_K).to_pylist() == []
    assert convert_column([None, None], LG_K).to_pylist() == [None, None]
