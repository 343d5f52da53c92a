"""HLL sketches of member ids, the one format keyart stores: parameters (`params`), one
sketch at a time (`hll`: build, merge, estimate with bounds), many groups at once
(`groups`, `packed`: the ETL's rollup sketches), unions of many per group (`unions`) and the
serialised layout read with numpy (`wire`).

The names most callers need are available here (`from keyart import sketches`); those of
`hll` load DataSketches on first use, so that importing the parameters (as keyart.config
does) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyart.sketches.params import MAX_LG_K, MIN_LG_K, NUM_STD_DEV

if TYPE_CHECKING:
    from keyart.sketches.hll import (
        TGT_TYPE,
        build,
        estimate,
        estimate_blobs,
        merge,
        merge_bytes,
    )

_FROM_HLL = frozenset(("TGT_TYPE", "build", "estimate", "estimate_blobs", "merge", "merge_bytes"))


def __getattr__(name: str) -> Any:
    if name in _FROM_HLL:
        from keyart.sketches import hll

        return getattr(hll, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MAX_LG_K",
    "MIN_LG_K",
    "NUM_STD_DEV",
    "TGT_TYPE",
    "build",
    "estimate",
    "estimate_blobs",
    "merge",
    "merge_bytes",
]
