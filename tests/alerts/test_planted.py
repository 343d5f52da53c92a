"""Rules on the generated `demo` world: what the generator planted is what fires (outliers,
clickbait), and a control rule on titles without planted assets fires nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyart.alerts.rules import AlertKind, RuleSpec
from keyart.alerts.service import AlertService
from keyart.cache import ResultCache
from keyart.config import ApiSettings
from keyart.etl.generator import GenerateSummary
from keyart.insights.measures import InsightMetric
from keyart.loaders import QueryExecutor
from keyart.server import build_backend
from keyart.state import StateStore, state_url
from keyart.store.consumer import SnapshotConsumer
from keyart.warehouse.layout import Warehouse


@pytest.mark.asyncio
async def test_planted_outliers_and_clickbait_fire_and_controls_do_not(
    insights_world: tuple[Path, GenerateSummary], tmp_path: Path
) -> None:
    warehouse, summary = insights_world
    url = state_url(tmp_path)
    settings = ApiSettings(warehouse=warehouse, state_url=url)
    snapshot = SnapshotConsumer(settings.snapshots).load()
    version = Warehouse(warehouse).current()
    days = (summary.end - summary.start).days + 1
    planted = set(summary.outlier_asset_ids) | set(summary.clickbait_asset_ids)
    planted_titles = {snapshot.assets[a].title_id for a in planted}
    quiet = sorted(t for t in snapshot.titles if t not in planted_titles)[:20]
    store = StateStore.open(url)
    backend = build_backend(settings)
    try:
        service = AlertService(
            store, settings, QueryExecutor(backend, ResultCache.from_settings(None, 3600))
        )
        specs = {
            "outliers": RuleSpec(
                "outliers", AlertKind.OUTLIER, metric=InsightMetric.TAKE_RATE, window_days=days
            ),
            "clickbait": RuleSpec("clickbait", AlertKind.CLICKBAIT, window_days=days),
            "control": RuleSpec(
                "control", AlertKind.OUTLIER, title_ids=tuple(quiet), window_days=days
            ),
            "spikes": RuleSpec("spikes", AlertKind.ANOMALY, window_days=28),
        }
        rules = {name: service.create_rule(spec, snapshot) for name, spec in specs.items()}
        report = await service.evaluator.evaluate(snapshot, version)
        assert report.evaluated == len(specs)
        fired: dict[str, set[str]] = {}
        for alert in report.fired:
            fired.setdefault(alert.rule_id, set()).add(alert.asset_id)
        assert fired[rules["outliers"].id] == set(summary.outlier_asset_ids)
        assert fired[rules["clickbait"].id] == set(summary.clickbait_asset_ids)
        assert rules["control"].id not in fired
        for alert in report.fired:
            assert alert.reason and alert.version == version.name
            if alert.rule_id == rules["outliers"].id:
                assert (
                    alert.finding == "outlier:take_rate:low" and "below the median" in alert.reason
                )
    finally:
        await backend.aclose()
        store.close()
