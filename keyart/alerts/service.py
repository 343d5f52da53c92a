"""The notification service of one process: rules, records, webhook sender, the alert
broker of its subscriptions, and the background worker of an API server (evaluate the
served version, send the outbox, push new alerts to subscribers)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime

from keyart.alerts.broker import AlertBroker
from keyart.alerts.evaluate import EvaluationReport, Evaluator
from keyart.alerts.guard import WebhookGuard
from keyart.alerts.outbox import deliver_pending, send_one
from keyart.alerts.records import AlertRecords, Delivery, new_id
from keyart.alerts.rules import AlertRule, RuleSpec, RuleStore, validate
from keyart.alerts.webhook import WebhookSender
from keyart.config import ApiSettings
from keyart.errors import BadUserInput, KeyartError
from keyart.loaders import QueryExecutor
from keyart.state.store import StateStore
from keyart.store.model import Snapshot
from keyart.warehouse.layout import Warehouse

log = logging.getLogger(__name__)
PUSH_BATCH = 500


def owner_name() -> str:
    """Who holds a lease: host, process and a random part (unique per process start)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{new_id()[:6]}"


class AlertService:
    """Everything notifications need in one process."""

    def __init__(self, store: StateStore, settings: ApiSettings, executor: QueryExecutor) -> None:
        self.settings = settings
        self.guard = WebhookGuard.of(settings.webhook_allow, settings.webhook_https_only)
        self.rules = RuleStore(store)
        self.records = AlertRecords(store, owner_name())
        self.sender = WebhookSender(
            self.guard,
            timeout_s=settings.webhook_timeout_s,
            attempts=settings.webhook_attempts,
            backoff_s=settings.webhook_backoff_s,
        )
        self.broker = AlertBroker()
        self.evaluator = Evaluator(self.rules, self.records, settings, executor)
        self.wake = asyncio.Event()
        self._pushed = 0

    # -- rules ------------------------------------------------------------------------
    def create_rule(self, spec: RuleSpec, snapshot: Snapshot | None) -> AlertRule:
        """Validate and store a new rule."""
        validate(spec, None if snapshot is None else snapshot.titles, self.guard)
        return self.rules.create(spec)

    def update_rule(self, rule_id: str, spec: RuleSpec, snapshot: Snapshot | None) -> AlertRule:
        """Validate and replace a rule's spec."""
        validate(spec, None if snapshot is None else snapshot.titles, self.guard)
        return self.rules.update(rule_id, spec)

    def test_rule(self, rule_id: str) -> Delivery:
        """Send a test event to the rule's webhook now (recorded like any delivery)."""
        rule = self.rules.get(rule_id)
        url = rule.spec.webhook_url
        if url is None:
            raise BadUserInput(f"alert rule {rule_id} has no webhookUrl to test")
        pending = self.records.add_delivery(
            rule.id,
            url,
            lambda delivery_id: {
                "type": "test",
                "delivery": delivery_id,
                "rule": {"id": rule.id, "name": rule.spec.name, "kind": rule.spec.kind.name},
                "sentAt": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        claimed = self.records.claim(3600.0, delivery_id=pending.id)
        return send_one(self.records, self.rules, self.sender, claimed[0])

    # -- the worker ---------------------------------------------------------------------
    async def evaluate_served(self, snapshot: Snapshot | None) -> EvaluationReport | None:
        """Evaluate the warehouse version `snapshot` serves (None: nothing served yet)."""
        if snapshot is None or not snapshot.warehouse_version:
            return None
        version = await asyncio.to_thread(
            Warehouse(self.settings.warehouse).open, snapshot.warehouse_version
        )
        return await self.evaluator.evaluate(snapshot, version)

    async def push_new(self) -> int:
        """Hand alerts stored since the last push (by any process) to subscribers."""
        pushed = 0
        while True:
            batch = await asyncio.to_thread(
                self.records.alerts, None, self._pushed, PUSH_BATCH, False
            )
            for alert in batch:
                self.broker.publish(alert)
                self._pushed = alert.seq
            pushed += len(batch)
            if len(batch) < PUSH_BATCH:
                return pushed

    async def run(self, snapshot: Callable[[], Snapshot | None]) -> None:
        """Until cancelled: evaluate, deliver, push; every alert_poll_s or when woken."""
        self._pushed = await asyncio.to_thread(self.records.last_seq)
        while True:
            try:
                await self.evaluate_served(snapshot())
                await self.push_new()
                await asyncio.to_thread(deliver_pending, self.records, self.rules, self.sender)
            except KeyartError as exc:
                log.warning("alert worker: %s", exc)
            except Exception:
                log.exception("alert worker failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.alert_poll_s)
            self.wake.clear()


__all__ = ["AlertService", "owner_name"]
