"""Send what the outbox owes: claim pending deliveries, send each with its rule's secret,
record how it ended (a crash before that leaves it pending; its claim expires and another
process sends it again: at least once, same delivery id)."""

from __future__ import annotations

import httpx

from keyart.alerts.records import AlertRecords, Delivery
from keyart.alerts.rules import RuleStore
from keyart.alerts.webhook import WebhookSender
from keyart.errors import NotFound


def claim_lease_s(sender: WebhookSender) -> float:
    """How long a claim must last: every attempt timing out, every backoff at its longest."""
    return sender.attempts * (sender.timeout_s + 30.0) + 5.0


def send_one(
    records: AlertRecords,
    rules: RuleStore,
    sender: WebhookSender,
    d: Delivery,
    client: httpx.Client | None = None,
) -> Delivery:
    """Send one claimed delivery and record the outcome."""
    try:
        secret = rules.get(d.rule_id).secret
    except NotFound:
        return records.finish(d.id, False, 0, None, "the rule was deleted", 0.0)
    outcome = sender.send(d.id, d.url, d.body.encode(), secret, client)
    return records.finish(
        d.id, outcome.delivered, outcome.attempts, outcome.status, outcome.error, outcome.latency_s
    )


def deliver_pending(
    records: AlertRecords, rules: RuleStore, sender: WebhookSender, limit: int = 50
) -> list[Delivery]:
    """Send every pending delivery this process can claim (up to `limit`), over one
    client (building one costs more than a loopback delivery)."""
    claimed = records.claim(claim_lease_s(sender), limit=limit)
    if not claimed:
        return []
    with sender.client() as client:
        return [send_one(records, rules, sender, d, client) for d in claimed]


__all__ = ["claim_lease_s", "deliver_pending", "send_one"]
