"""The warehouse: versioned, atomically published Parquet rollups, dimensions and events."""

from keyart.warehouse.layout import Version, Warehouse
from keyart.warehouse.tables import ROLLUPS, Rollup

__all__ = ["ROLLUPS", "Rollup", "Version", "Warehouse"]
