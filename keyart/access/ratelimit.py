"""Per-client rate limits with the `limits` library: a moving window in memory, or in
Redis (shared by every server process) when a cache URL is set."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import ConfigurationError
from limits.storage import storage_from_string

from keyart.errors import ConfigError

log = logging.getLogger(__name__)
OFF = frozenset({"", "off", "none", "0"})
NAMESPACE = "keyart"


class RateLimiter:
    """`retry_after(client)`: None while `client` is within every limit of `rate` (e.g.
    "1200/minute" or "20/second;600/minute"), else the seconds until it may try again."""

    def __init__(self, rate: str | None, cache_url: str | None = None) -> None:
        rate = rate or ""  # an empty KEYART_RATE_LIMIT reads as None: no limit
        self.rate = rate
        try:
            off = rate.strip().lower() in OFF
            self.items: list[RateLimitItem] = [] if off else parse_many(rate)
        except ValueError as exc:
            raise ConfigError(
                f"rate limit {rate!r} is not valid: "
                "expected e.g. 1200/minute or 20/second;600/minute, or off"
            ) from exc
        try:
            storage = (
                storage_from_string("async+memory://")
                if cache_url is None
                else storage_from_string(f"async+{cache_url}", implementation="redispy")
            )
        except ConfigurationError as exc:
            raise ConfigError(f"rate limit storage for the cache URL: {exc}") from exc
        assert isinstance(storage, Storage)
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(self.storage)

    @property
    def enabled(self) -> bool:
        """Whether any limit applies."""
        return bool(self.items)

    async def retry_after(self, client: str) -> int | None:
        """Count one request of `client`; seconds to wait when it is over a limit. When the
        shared storage cannot be reached the request is let through (and logged): a cache
        outage must not take the API down."""
        for item in self.items:
            try:
                if await self.limiter.hit(item, NAMESPACE, client):
                    continue
                stats = await self.limiter.get_window_stats(item, NAMESPACE, client)
            except Exception as exc:  # the storage's own errors vary by driver
                log.warning("rate limit storage unavailable, request let through: %r", exc)
                return None
            return max(1, math.ceil(stats.reset_time - time.time()))
        return None


__all__ = ["RateLimiter"]
