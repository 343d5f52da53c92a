"""Rollout records over SQLite and PostgreSQL: rule sets with who/when and rollback to the
previous set, shadow mismatches newest first, validation runs with their disagreements."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from keyart.errors import NotFound
from keyart.state.rollout import (
    Disagreement,
    Mismatch,
    MismatchStore,
    RoutingStore,
    ValidationStore,
)
from keyart.state.store import StateStore


@pytest.fixture
def store(store_url: str) -> Iterator[StateStore]:
    opened = StateStore.open(store_url)
    yield opened
    opened.close()


def test_rule_sets_keep_history_and_roll_back(store: StateStore) -> None:
    routing = RoutingStore(store)
    assert routing.current() is None and routing.current_id() is None
    with pytest.raises(NotFound):
        routing.rollback("ops")
    a = routing.set('{"rules": [], "default": "druid"}', "alice")
    b = routing.set('{"rules": [], "default": "legacy"}', "bob")
    assert routing.current_id() == b.id and b.previous_id == a.id
    back = routing.rollback("carol")
    assert back.rules == a.rules and back.action == "rollback" and back.created_by == "carol"
    assert routing.current() == back
    # a second rollback goes further back: before alice's set, no rules at all
    before = routing.rollback("carol")
    assert before.rules == '{"rules": []}'
    history = routing.history()
    assert [r.created_by for r in history] == ["carol", "carol", "bob", "alice"]
    assert all(r.created_at.tzinfo is not None for r in history)


def test_mismatches_newest_first(store: StateStore) -> None:
    mismatches = MismatchStore(store)
    now = datetime.now(UTC)

    def m(seconds: int, metric: str) -> Mismatch:
        return Mismatch(
            now + timedelta(seconds=seconds), "v1", "embedded", "legacy", "{}", "g", metric,
            1.0, 2.0, 0.0, 1.0,
        )  # fmt: skip

    mismatches.record([m(0, "impressions")])
    mismatches.record([m(5, "engaged_plays"), m(5, "play_seconds")])
    recent = mismatches.recent(2)
    assert [r.metric for r in recent] == ["play_seconds", "engaged_plays"]
    assert recent[0].recorded_at == now + timedelta(seconds=5)


def test_validation_runs_keep_their_disagreements(store: StateStore) -> None:
    runs = ValidationStore(store)
    d = Disagreement("title t1: totals", "title_id=t1", "impressions", 3.0, 5.0, 0.0, 2.0)
    runs.record(
        "r1", started_at=datetime.now(UTC), backend="embedded", against="legacy",
        warehouse_version="v1", questions=10, comparisons=60, disagreements=[d],
    )  # fmt: skip
    assert runs.disagreements("r1") == [d]
