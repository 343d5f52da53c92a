"""The routing rules a running server applies, re-read from the state store every few
seconds so that `keyart flags set|rollback` takes effect without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from keyart.errors import KeyartError
from keyart.query import Dimension
from keyart.rollout.routing import RuleSet, Target
from keyart.state.rollout import RoutingStore

if TYPE_CHECKING:
    from keyart.loaders.metric_loader import MetricKey
    from keyart.store.model import Snapshot

log = logging.getLogger(__name__)


class Router:
    """The rule set in force (and its id) for one server; `fallback` is the server's own
    backend, used when no rule matches and the set names no default."""

    def __init__(self, store: RoutingStore | None, fallback: str) -> None:
        self.store = store
        self.fallback = fallback
        self.rules = RuleSet()
        self.version: int | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def trivial(self) -> bool:
        """Whether every query goes to the fallback backend."""
        return not self.rules.rules and self.rules.default in (None, self.fallback)

    def choose(self, target: Target) -> str:
        """The backend for one title's or asset's metrics."""
        return self.rules.choose(target, self.fallback)

    def refresh(self) -> bool:
        """Load the rule set in force when it changed; True when it did. A stored set that
        no longer parses keeps the previous one (logged)."""
        if self.store is None:
            return False
        latest = self.store.current_id()
        if latest == self.version:
            return False
        record = self.store.current()
        if record is None:
            return False
        try:
            self.rules = RuleSet.parse(record.rules)
        except KeyartError as exc:
            log.error("routing rule set %s is not valid, keeping the previous: %s", record.id, exc)
        self.version = record.id
        log.info(
            "routing rule set %s in force (%s by %s)", record.id, record.action, record.created_by
        )
        return True

    def start(self, poll_s: float) -> None:
        """Poll the store every `poll_s` seconds in the running event loop."""
        if self._task is None and self.store is not None and poll_s > 0:
            self._task = asyncio.create_task(self._poll(poll_s), name="keyart-routing")

    async def _poll(self, poll_s: float) -> None:
        while True:
            await asyncio.sleep(poll_s)
            try:
                await asyncio.to_thread(self.refresh)
            except KeyartError as exc:
                log.warning("routing rules not refreshed (keeping the current ones): %s", exc)

    async def aclose(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def request_route(
    router: Router, snapshot: Snapshot, key_name: str | None
) -> Callable[[MetricKey], str]:
    """The backend of each loader key of one request: asset type and title from the
    snapshot, the request's API key and asset-type filter."""

    def route(key: MetricKey) -> str:
        flt = key.shape.filter.asset_types
        if key.shape.entity is Dimension.ASSET:
            asset = snapshot.assets.get(key.entity_id)
            title = "" if asset is None else asset.title_id
            return router.choose(
                Target(title, None if asset is None else asset.type, flt, key_name)
            )
        return router.choose(Target(key.entity_id, None, flt, key_name))

    return route


__all__ = ["Router", "request_route"]
