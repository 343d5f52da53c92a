"""The sketch parameters every part of keyart shares: the lg_k range and the bound width."""

from __future__ import annotations

# what DataSketches HLL accepts as lg_k (log2 of the number of buckets)
MIN_LG_K, MAX_LG_K = 4, 21
# bounds of every estimate sit at this many standard deviations: ~95%, as DESIGN §2 requires
NUM_STD_DEV = 2

__all__ = ["MAX_LG_K", "MIN_LG_K", "NUM_STD_DEV"]
