"""Leases, dedup, clearing and cool-down of the alert records, over SQLite and PostgreSQL."""

from __future__ import annotations

import time

from keyart.alerts.records import AlertRecords, Finding
from keyart.state import StateStore

A = Finding("a1", "t1", "outlier:take_rate:low", {"take_rate": 0.01}, "low")
B = Finding("a2", "t1", "outlier:take_rate:low", {"take_rate": 0.02}, "low")


def _commit(r: AlertRecords, version: str, found: list[Finding], cooldown_s: float = 0.0) -> object:
    assert r.acquire("rule", version, 60.0)
    return r.commit("rule", "n", "outlier", None, version, ["2026-01-01"], found, cooldown_s)


def test_one_lease_per_rule_and_version_taken_over_only_when_expired(store: StateStore) -> None:
    one, two = AlertRecords(store, "one"), AlertRecords(store, "two")
    assert one.acquire("rule", "v1", 0.2)
    assert not two.acquire("rule", "v1", 60.0)  # held
    time.sleep(0.3)
    assert two.acquire("rule", "v1", 60.0)  # expired: taken over
    assert not one.acquire("rule", "v1", 60.0)
    # the first owner's late result is dropped; the new owner's is kept
    assert one.commit("rule", "n", "outlier", None, "v1", [], [A], 0.0) is None
    done = two.commit("rule", "n", "outlier", None, "v1", [], [A], 0.0)
    assert done is not None and [a.asset_id for a in done.fired] == ["a1"]
    assert not one.acquire("rule", "v1", 60.0) and not two.acquire("rule", "v1", 60.0)  # done
    (row,) = one.evaluations()
    assert row["owner"] == "two" and row["attempts"] == 2 and row["status"] == "done"


def test_a_finding_fires_once_until_it_clears_then_after_the_cool_down(store: StateStore) -> None:
    r = AlertRecords(store, "me")
    first = _commit(r, "v1", [A, B])
    assert sorted(a.asset_id for a in first.fired) == ["a1", "a2"]  # type: ignore[attr-defined]
    again = _commit(r, "v2", [A, B])
    assert again.fired == [] and again.cleared == 0  # type: ignore[attr-defined]
    gone = _commit(r, "v3", [B])
    assert gone.fired == [] and gone.cleared == 1  # type: ignore[attr-defined]
    cooling = _commit(r, "v4", [A, B], cooldown_s=3600)
    assert cooling.fired == [] and cooling.skipped_cooling == 1  # type: ignore[attr-defined]
    back = _commit(r, "v5", [A, B], cooldown_s=0)
    assert [a.asset_id for a in back.fired] == ["a1"]  # type: ignore[attr-defined]
    listed = r.alerts(["rule"], limit=10)
    assert [a.asset_id for a in listed] == ["a1", "a2", "a1"]  # newest first
    assert listed[2].cleared_at is not None and listed[0].cleared_at is None
