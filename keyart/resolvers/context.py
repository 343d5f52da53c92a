"""What every resolver of one request sees: one snapshot, the request's loaders, settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from keyart.config import ApiSettings
from keyart.errors import QueryTimeout, SnapshotError
from keyart.loaders import MetricLoader
from keyart.resolvers.warnings import Warnings
from keyart.store.model import Snapshot
from keyart.telemetry import ApiMetrics

if TYPE_CHECKING:
    from keyart.alerts.service import AlertService
    from keyart.rollout.runtime import Rollout
    from keyart.state.keys import KeyStore

T = TypeVar("T")


class SnapshotMemo:
    """Values derived from one immutable snapshot (the GraphQL objects of its titles and
    assets), built on first use and shared by every request that reads that snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._values: dict[tuple[str, str], Any] = {}

    def get(self, kind: str, key: str, build: Callable[[], T]) -> T:
        """The `kind` value of `key`, built by `build` the first time it is asked for."""
        try:
            value: T = self._values[kind, key]
        except KeyError:
            value = self._values[kind, key] = build()
        return value


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
    memo: SnapshotMemo | None = None  # shared values of snapshot_or_none
    warnings: Warnings = field(default_factory=Warnings)  # sent as extensions.warnings
    keys: KeyStore | None = None  # the state store's API keys (admin fields)
    rollout: Rollout | None = None  # routing, shadow traffic, other stacks (admin fields)
    request_id: str | None = None  # logged with every error of this request
    deadline: float | None = None  # time.monotonic() by which execution must end
    alerts: AlertService | None = None  # notifications (rules, alerts, subscriptions)
    connection_params: dict[str, Any] | None = None  # a websocket's connection_init payload

    def check_deadline(self) -> None:
        """QueryTimeout once the execution deadline has passed: a resolver resumed after
        it then ends at once instead of building its answer (the event loop cannot
        interrupt synchronous work, so each resolver looks at the clock itself)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise QueryTimeout("the operation ran past its execution deadline")

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot this request reads; SnapshotError when none is loaded."""
        if self.snapshot_or_none is None:
            raise SnapshotError(
                f"no snapshot is loaded yet ({self.snapshot_problem or 'nothing published'})"
            )
        return self.snapshot_or_none

    def shared(self, kind: str, key: str, build: Callable[[], T]) -> T:
        """A value derived from this request's snapshot alone, reused across requests
        through the memo of that snapshot (built here when there is none)."""
        memo = self.memo
        if memo is None or memo.snapshot is not self.snapshot_or_none:
            return build()
        return memo.get(kind, key, build)


__all__ = ["RequestContext", "SnapshotMemo", "data_version"]
