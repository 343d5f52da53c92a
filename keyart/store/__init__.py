"""The in-memory snapshot store of precomputed aggregates (the role Hollow plays at Netflix)."""

from keyart.store.model import AssetInfo, FilterOptions, Snapshot, TitleInfo

__all__ = ["AssetInfo", "FilterOptions", "Snapshot", "TitleInfo"]
