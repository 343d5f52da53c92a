"""The in-memory snapshot store of precomputed aggregates (the role Hollow plays at Netflix).

Its names are imported on first use: `keyart serve --workers N`'s supervisor reads the
snapshot announcement (keyart.store.files) without loading the store's Arrow, numpy and
sketch dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keyart.store.consumer import ConsumerStats, SnapshotConsumer
    from keyart.store.model import AssetInfo, FilterOptions, Snapshot, TitleInfo
    from keyart.store.producer import SnapshotProducer

_HOMES = {
    "AssetInfo": "keyart.store.model",
    "ConsumerStats": "keyart.store.consumer",
    "FilterOptions": "keyart.store.model",
    "Snapshot": "keyart.store.model",
    "SnapshotConsumer": "keyart.store.consumer",
    "SnapshotProducer": "keyart.store.producer",
    "TitleInfo": "keyart.store.model",
}


def __getattr__(name: str) -> Any:
    """The store's public names, imported from their modules when first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


__all__ = [
    "AssetInfo",
    "ConsumerStats",
    "FilterOptions",
    "Snapshot",
    "SnapshotConsumer",
    "SnapshotProducer",
    "TitleInfo",
]
