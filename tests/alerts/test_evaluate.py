"""Evaluating rules on a real warehouse version: exactly the assets the raw events say,
once per (rule, version) whoever evaluates, deduplicated until cleared, delivered signed."""

from __future__ import annotations

import statistics
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from keyart.alerts.evaluate import changed_days
from keyart.alerts.outbox import deliver_pending
from keyart.alerts.rules import AlertKind, RuleSpec
from keyart.alerts.service import AlertService
from keyart.cache import ResultCache
from keyart.config import ApiSettings
from keyart.insights.measures import InsightMetric
from keyart.loaders import QueryExecutor
from keyart.server import build_backend
from keyart.state import StateStore
from keyart.store.consumer import SnapshotConsumer
from keyart.warehouse.layout import Warehouse
from tests.alerts.receiver import Receiver
from tests.truth import truth_of

pytestmark = pytest.mark.asyncio


def settings_of(warehouse: Path, store_url: str, **extra: Any) -> ApiSettings:
    return ApiSettings(
        warehouse=warehouse, state_url=store_url, webhook_allow=("127.0.0.1/32",), **extra
    )


async def test_threshold_rule_fires_for_exactly_the_assets_over_it_once(
    tiny_raw: Path, tiny_warehouse: Path, store_url: str, receiver: Receiver
) -> None:
    settings = settings_of(tiny_warehouse, store_url)
    version = Warehouse(tiny_warehouse).current()
    snapshot = SnapshotConsumer(settings.snapshots).load()
    end = max(changed_days(version))
    start = end - timedelta(days=6)
    exact = truth_of(tiny_raw).by_asset(start, end)
    counts = sorted(e.qualified_plays for e in exact.values() if e.qualified_plays)
    threshold = float(statistics.median(counts))
    expected = {a for a, e in exact.items() if e.qualified_plays >= threshold}
    assert 0 < len(expected) < len(snapshot.assets)

    store = StateStore.open(store_url)
    backend = build_backend(settings)
    try:
        executor = QueryExecutor(backend, ResultCache.from_settings(None, 3600))
        one = AlertService(store, settings, executor)
        two = AlertService(store, settings, executor)  # another process's view
        rule = one.create_rule(
            RuleSpec(
                "busy assets",
                AlertKind.THRESHOLD,
                metric=InsightMetric.QUALIFIED_PLAYS,
                threshold=threshold,
                webhook_url=receiver.url,
            ),
            snapshot,
        )
        report = await one.evaluator.evaluate(snapshot, version)
        assert report.evaluated == 1
        assert {a.asset_id for a in report.fired} == expected
        for alert in report.fired:
            assert alert.values["qualified_plays"] == exact[alert.asset_id].qualified_plays
            assert alert.days == tuple(d.isoformat() for d in changed_days(version))

        again = await two.evaluator.evaluate(snapshot, version)
        assert again.evaluated == 0 and again.already == 1 and again.fired == []

        sent = deliver_pending(two.records, two.rules, two.sender)
        assert len(sent) == len(expected) and {d.status for d in sent} == {"delivered"}
        got = receiver.wait_for(len(expected))
        assert all(r.signed_with(rule.secret) for r in got)
        assert {r.json()["alert"]["assetId"] for r in got} == expected
        assert len({r.delivery for r in got}) == len(got)
        assert deliver_pending(one.records, one.rules, one.sender) == []

        listed = one.records.alerts([rule.id], limit=1000)
        assert {a.delivery_status for a in listed} == {"delivered"}
        assert len(listed) == len(expected)
    finally:
        await backend.aclose()
        store.close()


async def test_bad_rules_are_refused_naming_the_field(tiny_warehouse: Path, store_url: str) -> None:
    from keyart.errors import BadUserInput

    settings = ApiSettings(warehouse=tiny_warehouse, state_url=store_url)
    snapshot = SnapshotConsumer(settings.snapshots).load()
    store = StateStore.open(store_url)
    try:
        service = AlertService(store, settings, None)  # type: ignore[arg-type]
        bad = [
            (RuleSpec("t", AlertKind.THRESHOLD), "threshold"),
            (RuleSpec("t", AlertKind.OUTLIER, title_ids=("nope",)), "titleIds"),
            (RuleSpec("t", AlertKind.OUTLIER, webhook_url="http://127.0.0.1:9/x"), "webhookUrl"),
            (RuleSpec("t", AlertKind.OUTLIER, webhook_url="not a url"), "webhookUrl"),
            (RuleSpec("t", AlertKind.OUTLIER, window_days=0), "windowDays"),
            (RuleSpec("", AlertKind.OUTLIER), "name"),
        ]
        for spec, field in bad:
            with pytest.raises(BadUserInput, match=field):
                service.create_rule(spec, snapshot)
        assert service.rules.list() == []
    finally:
        store.close()
