"""In-process fan-out of new alerts to the subscriptions of one server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection

from keyart.alerts.records import Alert

QUEUE_SIZE = 1000


class AlertBroker:
    """Subscribers each get a bounded queue of the alerts they asked for."""

    def __init__(self) -> None:
        self._queues: dict[asyncio.Queue[Alert], frozenset[str] | None] = {}

    @property
    def subscribers(self) -> int:
        """How many subscriptions are listening."""
        return len(self._queues)

    def publish(self, alert: Alert) -> None:
        """Hand an alert to every subscriber whose rules include it (a subscriber that
        fell QUEUE_SIZE alerts behind loses the oldest rather than stalling the others)."""
        for queue, rules in self._queues.items():
            if rules is not None and alert.rule_id not in rules:
                continue
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(alert)

    async def subscribe(self, rule_ids: Collection[str] | None) -> AsyncIterator[Alert]:
        """Alerts of `rule_ids` (None: every rule) as they are published."""
        queue: asyncio.Queue[Alert] = asyncio.Queue(QUEUE_SIZE)
        self._queues[queue] = None if rule_ids is None else frozenset(rule_ids)
        try:
            while True:
                yield await queue.get()
        finally:
            del self._queues[queue]


__all__ = ["AlertBroker"]
