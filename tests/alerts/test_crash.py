"""`keyart alerts evaluate` killed mid-evaluation (SIGKILL, a real process): the rules it
finished stay done, the one it held is taken over once its lease expires, and a second run
finishes the rest: every rule evaluated once, nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from keyart.alerts.evaluate import changed_days
from keyart.alerts.rules import AlertKind, RuleSpec, RuleStore
from keyart.insights.measures import InsightMetric
from keyart.state import StateStore
from keyart.state.tables import alert_evaluations, alerts, deliveries
from keyart.warehouse.layout import Warehouse
from tests.alerts.receiver import Receiver
from tests.truth import truth_of

RULES = 60


def command(warehouse: Path, store_url: str) -> list[str]:
    return [sys.executable, "-m", "keyart.cli", "alerts", "evaluate", "--warehouse",
            str(warehouse), "--state-url", store_url, "--no-deliver"]  # fmt: skip


ENV = {**os.environ, "KEYART_ALERT_LEASE_S": "2"}


def rerun(warehouse: Path, store_url: str) -> None:
    done = subprocess.run(
        command(warehouse, store_url), capture_output=True, text=True, timeout=300, env=ENV
    )
    assert done.returncode == 0, done.stdout + done.stderr


def done_count(store: StateStore) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(alert_evaluations.c.status == "done")
            ).scalar_one()
        )


def test_a_killed_evaluation_resumes_without_loss_or_duplicates(
    tiny_raw: Path, tiny_warehouse: Path, store_url: str, receiver: Receiver
) -> None:
    store = StateStore.open(store_url)
    try:
        rules = RuleStore(store)
        # thresholds from 0 up: each rule fires for a different, known-size set of assets
        for i in range(RULES):
            rules.create(
                RuleSpec(
                    f"r{i}",
                    AlertKind.THRESHOLD,
                    metric=InsightMetric.QUALIFIED_PLAYS,
                    threshold=float(i),
                    window_days=1 + i % 30,
                    webhook_url=receiver.url,
                )
            )
        first = subprocess.Popen(
            command(tiny_warehouse, store_url), env=ENV, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while done_count(store) < 3 and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        killed_at = done_count(store)
        assert 0 < killed_at < RULES, f"the kill did not land mid-evaluation ({killed_at} done)"

        rerun(tiny_warehouse, store_url)
        if done_count(store) < RULES:  # the killed run's lease had not expired yet
            time.sleep(2.5)
            rerun(tiny_warehouse, store_url)
        assert done_count(store) == RULES

        with store.engine.connect() as conn:
            evaluations = conn.execute(select(alert_evaluations)).all()
            fired = conn.execute(select(alerts.c.rule_id, alerts.c.asset_id, alerts.c.id)).all()
            owed = conn.execute(select(deliveries.c.alert_id)).all()
        assert len(evaluations) == RULES  # one row per (rule, version)
        per_key = Counter((r.rule_id, r.asset_id) for r in fired)
        assert set(per_key.values()) == {1}  # no alert twice
        assert Counter(r.alert_id for r in owed) == Counter(r.id for r in fired)  # one each
        # every rule, resumed or not, found exactly what the raw events say
        end_day = max(changed_days(Warehouse(tiny_warehouse).current()))
        truth = truth_of(tiny_raw)
        found: dict[str, set[str]] = {}
        for r in fired:
            found.setdefault(r.rule_id, set()).add(r.asset_id)
        for rule in rules.list():
            start = end_day - timedelta(days=rule.spec.window_days - 1)
            exact = truth.by_asset(start, end_day)
            assert rule.spec.threshold is not None
            want = {str(a) for a, e in exact.items() if e.qualified_plays >= rule.spec.threshold}
            if rule.spec.threshold == 0:  # also the assets without any event in the window
                assert want <= found.get(rule.id, set())
            else:
                assert found.get(rule.id, set()) == want, rule.spec.name
    finally:
        store.close()
