"""What one server runs for rollouts: its backend pool, routing rules, shadow traffic and
the state-store records behind the admin fields."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from keyart.backends.base import Backend
from keyart.config import ApiSettings
from keyart.errors import ConfigError
from keyart.rollout.pool import BackendPool
from keyart.rollout.router import Router
from keyart.rollout.routing import BACKENDS
from keyart.rollout.shadow import Shadow
from keyart.state.rollout import MismatchStore, RoutingStore
from keyart.state.store import StateStore
from keyart.telemetry import ApiMetrics


def check_settings(settings: ApiSettings) -> None:
    """ConfigError naming a rollout setting that is out of range."""
    if settings.shadow_backend is not None and settings.shadow_backend not in BACKENDS:
        raise ConfigError(
            f"KEYART_SHADOW_BACKEND must be one of {', '.join(BACKENDS)}, "
            f"got {settings.shadow_backend!r}"
        )
    if not 0.0 <= settings.shadow_sample <= 1.0:
        raise ConfigError(f"KEYART_SHADOW_SAMPLE must be within 0..1, got {settings.shadow_sample}")
    if settings.shadow_queue_size < 1:
        raise ConfigError(
            f"KEYART_SHADOW_QUEUE_SIZE must be at least 1, got {settings.shadow_queue_size}"
        )
    if settings.routing_poll_s < 0:
        raise ConfigError(f"KEYART_ROUTING_POLL_S must be >= 0, got {settings.routing_poll_s}")


class Rollout:
    """The pool of backends, the router and the shadow of one app."""

    def __init__(
        self,
        settings: ApiSettings,
        primary: Backend,
        build: Callable[[str], Backend],
        metrics: ApiMetrics,
        *,
        owns_primary: bool,
    ) -> None:
        check_settings(settings)
        self.settings = settings
        self.pool = BackendPool(primary, build, owns_primary=owns_primary)
        self.router = Router(None, self.pool.primary_name)
        self.shadow: Shadow | None = None
        if settings.shadow_backend is not None and settings.shadow_sample > 0:
            self.shadow = Shadow(
                settings.shadow_backend,
                self.pool,
                settings.shadow_sample,
                metrics=metrics,
                queue_size=settings.shadow_queue_size,
            )
        self.routing: RoutingStore | None = None
        self.mismatches: MismatchStore | None = None

    async def start(self, store: StateStore) -> None:
        """Read the routing rules in force and start polling; start the shadow worker."""
        self.routing = RoutingStore(store)
        self.mismatches = MismatchStore(store)
        self.router.store = self.routing
        await asyncio.to_thread(self.router.refresh)
        self.router.start(self.settings.routing_poll_s)
        if self.shadow is not None:
            self.shadow.mismatches = self.mismatches
            self.shadow.start()

    async def aclose(self) -> None:
        """Stop polling and the shadow worker; close the backends the pool opened."""
        await self.router.aclose()
        if self.shadow is not None:
            await self.shadow.aclose()
        await self.pool.aclose()


__all__ = ["Rollout", "check_settings"]
