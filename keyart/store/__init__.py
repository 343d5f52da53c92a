"""The in-memory snapshot store of precomputed aggregates (the role Hollow plays at Netflix)."""

from keyart.store.consumer import ConsumerStats, SnapshotConsumer
from keyart.store.model import AssetInfo, FilterOptions, Snapshot, TitleInfo
from keyart.store.producer import SnapshotProducer

__all__ = [
    "AssetInfo",
    "ConsumerStats",
    "FilterOptions",
    "Snapshot",
    "SnapshotConsumer",
    "SnapshotProducer",
    "TitleInfo",
]
