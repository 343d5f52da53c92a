"""Evaluate every alert rule once on a published data version: lease (rule, version),
find over the trailing window ending on the last day the version added or changed,
record alerts and deliveries in one transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from keyart.alerts.findings import find
from keyart.alerts.records import Alert, AlertRecords
from keyart.alerts.rules import AlertRule, RuleStore
from keyart.config import ApiSettings
from keyart.loaders import MetricLoader, QueryExecutor
from keyart.query import Interval
from keyart.resolvers.context import RequestContext
from keyart.store.model import Snapshot
from keyart.warehouse.layout import Version

log = logging.getLogger(__name__)


def changed_days(version: Version) -> list[date]:
    """The days a version added or changed against its parent (its run's days)."""
    report = version.manifest.get("report") or {}
    days = report.get("days")
    if days is None:  # a version without a run report: every day it holds
        return version.days
    return sorted(date.fromisoformat(d) for d in days)


def rule_window(rule: AlertRule, changed: list[date]) -> Interval:
    """The trailing window of `window_days` ending on the last changed day."""
    end = max(changed)
    return Interval(end - timedelta(days=rule.spec.window_days - 1), end)


@dataclass
class EvaluationReport:
    """What one evaluation pass over a version did."""

    version: str
    evaluated: int = 0  # rules this process evaluated
    already: int = 0  # rules evaluated before (done) or being evaluated elsewhere (leased)
    fired: list[Alert] = field(default_factory=list)
    cleared: int = 0
    cooling: int = 0
    per_rule_s: list[float] = field(default_factory=list)


class Evaluator:
    """Evaluates the rules of a state store over versions of one warehouse."""

    def __init__(
        self,
        rules: RuleStore,
        records: AlertRecords,
        settings: ApiSettings,
        executor: QueryExecutor,
    ) -> None:
        self.rules = rules
        self.records = records
        self.settings = settings
        self.executor = executor

    async def evaluate(
        self, snapshot: Snapshot, version: Version, only: list[AlertRule] | None = None
    ) -> EvaluationReport:
        """Evaluate every rule not yet done on `version` (each under its own lease)."""
        report = EvaluationReport(version.name)
        changed = changed_days(version)
        rules = only if only is not None else await asyncio.to_thread(self.rules.list)
        done = await asyncio.to_thread(self.records.done_rules, version.name)
        for rule in rules:
            if rule.id in done:
                report.already += 1
                continue
            leased = await asyncio.to_thread(
                self.records.acquire, rule.id, version.name, self.settings.alert_lease_s
            )
            if not leased:
                report.already += 1
                continue
            started = time.perf_counter()
            try:
                found = None
                if changed:
                    ctx = RequestContext(
                        settings=self.settings,
                        loader=MetricLoader(
                            self.executor, f"{snapshot.version}@{version.name}", version.name
                        ),
                        snapshot_or_none=snapshot,
                    )
                    found = await find(ctx, rule.spec, rule_window(rule, changed), changed)
                recorded = await asyncio.to_thread(
                    self.records.commit,
                    rule.id,
                    rule.spec.name,
                    rule.spec.kind.value,
                    rule.spec.webhook_url,
                    version.name,
                    [d.isoformat() for d in changed],
                    found,
                    self.settings.alert_cooldown_s,
                )
            except BaseException:
                # another owner may take it at once rather than after the lease
                await asyncio.to_thread(self.records.release, rule.id, version.name)
                raise
            report.per_rule_s.append(time.perf_counter() - started)
            if recorded is None:
                log.warning(
                    "lost the lease of rule %s on %s; its result was dropped", rule.id, version.name
                )
                report.already += 1
                continue
            report.evaluated += 1
            report.fired.extend(recorded.fired)
            report.cleared += recorded.cleared
            report.cooling += recorded.skipped_cooling
        return report


__all__ = ["EvaluationReport", "Evaluator", "changed_days", "rule_window"]
