"""HLL coupons of int64 member ids computed with numpy, as DataSketches computes them.

`keyart.sketches.groups.coupon_table` builds a one-member sketch per member (about 2 µs
each); a Spark task building a day's rollups needs the coupons of every member of the day,
so that cost recurs per day. DataSketches' `update(int64)` hashes the id's 8 little-endian
bytes with MurmurHash3_x64_128 (seed 9001); the coupon is the low 26 bits of the first
half of the hash with, above them, 1 + the leading zeros of the second half (at most 63).
Written out for an 8-byte key, that is a dozen vectorised uint64 operations.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

_SEED = np.uint64(9001)  # DataSketches' default hash seed
_C1 = np.uint64(0x87C37B91114253D5)
_C2 = np.uint64(0x4CF5AD432745937F)
_KEY_BITS = 26
_KEY_MASK = np.uint64((1 << _KEY_BITS) - 1)
U64 = npt.NDArray[np.uint64]


def _rotl(x: U64, r: int) -> U64:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _fmix(k: U64) -> U64:
    k = k ^ (k >> np.uint64(33))
    k = k * np.uint64(0xFF51AFD7ED558CCD)
    k = k ^ (k >> np.uint64(33))
    k = k * np.uint64(0xC4CEB9FE1A85EC53)
    return k ^ (k >> np.uint64(33))


def _bit_length(x: U64) -> npt.NDArray[np.int64]:
    """Bits needed for each value (0 for 0): exact, via the two 32-bit halves as floats."""
    hi = (x >> np.uint64(32)).astype(np.float64)
    lo = (x & np.uint64(0xFFFFFFFF)).astype(np.float64)
    return np.where(hi > 0, 32 + np.frexp(hi)[1], np.frexp(lo)[1]).astype(np.int64)


def coupons(members: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
    """The HLL coupon of each int64 id (what a one-member DataSketches sketch holds)."""
    with np.errstate(over="ignore"):
        k1 = np.asarray(members, dtype=np.int64).view(np.uint64)
        k1 = _rotl(k1 * _C1, 31) * _C2
        h1 = _SEED ^ k1
        h2 = np.full_like(h1, _SEED)
        h1 = h1 ^ np.uint64(8)  # the key's length in bytes
        h2 = h2 ^ np.uint64(8)
        h1 = h1 + h2
        h2 = h2 + h1
        h1, h2 = _fmix(h1), _fmix(h2)
        h1 = h1 + h2
        h2 = h2 + h1
    value = np.minimum(64 - _bit_length(h2), 62) + 1
    return ((value.astype(np.uint64) << np.uint64(_KEY_BITS)) | (h1 & _KEY_MASK)).astype(np.uint32)


def coupon_table(members: npt.NDArray[np.int64]) -> pa.Table:
    """member_id, coupon and clash (another given member has the same coupon): what
    `keyart.sketches.groups.coupon_table` returns, for distinct ids."""
    members = np.asarray(members, dtype=np.int64)
    found = coupons(members)
    ordered = np.sort(found)
    shared = ordered[1:][ordered[1:] == ordered[:-1]]
    clash = np.isin(found, shared) if len(shared) else np.zeros(len(found), dtype=bool)
    return pa.table({"member_id": members, "coupon": found, "clash": clash})


__all__ = ["coupon_table", "coupons"]
