"""What every resolver of one request sees: one snapshot, the request's loaders, settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keyart.config import ApiSettings
from keyart.errors import SnapshotError
from keyart.loaders import MetricLoader
from keyart.metrics import ApiMetrics
from keyart.store.model import Snapshot


def data_version(snapshot: Snapshot) -> str:
    """The version of the data a snapshot describes: snapshot and warehouse versions."""
    return f"{snapshot.version}@{snapshot.warehouse_version}"


@dataclass
class RequestContext:
    """Per-request state; the snapshot is taken once so that a request never mixes versions."""

    settings: ApiSettings
    loader: MetricLoader
    snapshot_or_none: Snapshot | None
    snapshot_problem: str | None = None
    metrics: ApiMetrics | None = None
    request: Any = None
    response: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot this request reads; SnapshotError when none is loaded."""
        if self.snapshot_or_none is None:
            raise SnapshotError(
                f"no snapshot is loaded yet ({self.snapshot_problem or 'nothing published'})"
            )
        return self.snapshot_or_none


__all__ = ["RequestContext", "data_version"]
