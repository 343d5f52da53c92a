"""Admission control: at most N GraphQL requests execute at once, a few more wait briefly
in a queue, and the rest are refused at once (HTTP 503), so that overload is shed instead
of slowing every request and the health endpoints down."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

from keyart.config import ApiSettings
from keyart.errors import ConfigError, Overloaded


class Admission:
    """A counting gate with a bounded FIFO queue and a bounded wait."""

    def __init__(self, max_inflight: int, max_queued: int, queue_timeout_s: float) -> None:
        if max_inflight < 1:
            raise ConfigError(f"max_inflight must be >= 1, got {max_inflight}")
        if max_queued < 0:
            raise ConfigError(f"max_queued must be >= 0, got {max_queued}")
        if queue_timeout_s <= 0:
            raise ConfigError(f"queue_timeout_s must be > 0, got {queue_timeout_s}")
        self.max_inflight = max_inflight
        self.max_queued = max_queued
        self.queue_timeout_s = queue_timeout_s
        self.inflight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.rejected = 0  # refusals so far (tests, bench)

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> Admission:
        """The gate of the settings' max_inflight, max_queued and queue_timeout_s."""
        return cls(settings.max_inflight, settings.max_queued, settings.queue_timeout_s)

    @property
    def queued(self) -> int:
        """Requests waiting for a slot now."""
        return len(self._waiters)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one execution slot for the body of the `async with`; Overloaded when the
        queue is full or no slot frees up within the queue timeout."""
        await self._acquire()
        try:
            yield
        finally:
            self._release()

    async def _acquire(self) -> None:
        if self.inflight < self.max_inflight and not self._waiters:
            self.inflight += 1
            return
        if len(self._waiters) >= self.max_queued:
            self.rejected += 1
            raise Overloaded(
                f"the server is running {self.inflight} requests with {len(self._waiters)} "
                "waiting; retry shortly"
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.queue_timeout_s)
        except TimeoutError:
            if waiter.done():  # the slot was handed over just as the wait ended: keep it
                return
            self._waiters.remove(waiter)
            waiter.cancel()
            self.rejected += 1
            raise Overloaded(
                f"no execution slot freed up within {self.queue_timeout_s:g}s; retry shortly"
            ) from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot, but the client went away
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                waiter.cancel()
            raise

    def _release(self) -> None:
        # hand the slot straight to the oldest waiter, so newcomers cannot overtake it
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.inflight -= 1


__all__ = ["Admission"]
