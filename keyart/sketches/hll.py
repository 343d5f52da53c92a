"""Apache DataSketches HLL sketches one at a time: build from int64 member ids, merge,
estimate with bounds.

Every sketch keyart stores is a compact-serialised HLL_4 sketch of int64 member ids, so it
merges with sketches built by Spark's `hll_sketch_agg` and Druid's `HLLSketchMerge`.
"""

from __future__ import annotations

from collections.abc import Iterable

import datasketches as ds

from keyart.query.results import ZERO, Estimate
from keyart.sketches.params import NUM_STD_DEV

TGT_TYPE = ds.tgt_hll_type.HLL_4


def build(member_ids: Iterable[int], lg_k: int) -> bytes:
    """A compact HLL_4 sketch of the given int64 member ids."""
    sketch = ds.hll_sketch(lg_k, TGT_TYPE)
    for member in member_ids:
        sketch.update(int(member))
    return bytes(sketch.serialize_compact())


def merge(blobs: Iterable[bytes | None], lg_k: int) -> ds.hll_sketch | None:
    """The union of serialised sketches (None entries skipped); None when all are None."""
    union = ds.hll_union(lg_k)
    seen = False
    for blob in blobs:
        if blob is None:
            continue
        union.update(ds.hll_sketch.deserialize(blob))
        seen = True
    return union.get_result(TGT_TYPE) if seen else None


def merge_bytes(blobs: Iterable[bytes | None], lg_k: int) -> bytes | None:
    """The union of serialised sketches, serialised again (None when all are None)."""
    sketch = merge(blobs, lg_k)
    return None if sketch is None else bytes(sketch.serialize_compact())


def estimate(sketch: ds.hll_sketch | None) -> Estimate:
    """Estimate and 2-standard-deviation bounds of a sketch; zero for None."""
    if sketch is None or sketch.is_empty():
        return ZERO
    return Estimate(
        sketch.get_estimate(),
        sketch.get_lower_bound(NUM_STD_DEV),
        sketch.get_upper_bound(NUM_STD_DEV),
    )


def estimate_blobs(blobs: Iterable[bytes | None], lg_k: int) -> Estimate:
    """Estimate with bounds of the union of serialised sketches."""
    return estimate(merge(blobs, lg_k))


__all__ = ["TGT_TYPE", "build", "estimate", "estimate_blobs", "merge", "merge_bytes"]
