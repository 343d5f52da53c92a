"""Rollout records in the state store: routing rule sets with their history, shadow
mismatches, validation runs and their disagreements."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select
from sqlalchemy.exc import SQLAlchemyError

from keyart.errors import NotFound, StateError
from keyart.state.store import StateStore
from keyart.state.tables import (
    routing_rule_sets,
    shadow_mismatches,
    validation_results,
    validation_runs,
)


@dataclass(frozen=True, slots=True)
class RuleSetRecord:
    """One stored rule set: its JSON text, what made it (set or rollback), who and when."""

    id: int
    rules: str
    action: str
    previous_id: int | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One metric of one shadowed query that disagreed with the primary answer."""

    recorded_at: datetime
    data_version: str
    primary_backend: str
    shadow_backend: str
    query: str
    group: str
    metric: str
    primary_value: float
    shadow_value: float
    tolerance: float
    excess: float


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One disagreement of a validation run."""

    question: str
    group: str
    metric: str
    value: float
    against_value: float
    tolerance: float
    excess: float


class RoutingStore:
    """The routing_rule_sets table: append-only; the newest row is in force."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def current(self) -> RuleSetRecord | None:
        """The rule set in force, or None when none was ever set."""
        query = select(routing_rule_sets).order_by(routing_rule_sets.c.id.desc()).limit(1)
        try:
            with self.store.engine.connect() as conn:
                row = conn.execute(query).first()
        except SQLAlchemyError as exc:
            raise StateError(f"could not read the routing rules: {exc}") from exc
        return None if row is None else _record(row)

    def current_id(self) -> int | None:
        """The id of the rule set in force (a cheap poll for running servers)."""
        try:
            with self.store.engine.connect() as conn:
                value = conn.execute(select(func.max(routing_rule_sets.c.id))).scalar()
        except SQLAlchemyError as exc:
            raise StateError(f"could not read the routing rules: {exc}") from exc
        return None if value is None else int(value)

    def history(self, limit: int = 20) -> list[RuleSetRecord]:
        """The newest `limit` rule sets, newest first."""
        query = select(routing_rule_sets).order_by(routing_rule_sets.c.id.desc()).limit(limit)
        try:
            with self.store.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StateError(f"could not read the routing history: {exc}") from exc
        return [_record(r) for r in rows]

    def set(self, rules_text: str, by: str) -> RuleSetRecord:
        """Put a new rule set in force (the caller has validated `rules_text`)."""
        try:
            with self.store.engine.begin() as conn:
                previous = conn.execute(select(func.max(routing_rule_sets.c.id))).scalar()
                return self._insert(conn, rules_text, "set", previous, by)
        except SQLAlchemyError as exc:
            raise StateError(f"could not store the routing rules: {exc}") from exc

    def rollback(self, by: str) -> RuleSetRecord:
        """Put back the rule set that was in force before the current one (a new row, so
        the history shows the rollback); NotFound when there is nothing to go back to."""
        try:
            with self.store.engine.begin() as conn:
                current = conn.execute(
                    select(routing_rule_sets).order_by(routing_rule_sets.c.id.desc()).limit(1)
                ).first()
                if current is None:
                    raise NotFound("no routing rules were ever set: nothing to roll back")
                if current.previous_id is None:
                    # before the first set, the server's own backend answered everything
                    return self._insert(conn, json.dumps({"rules": []}), "rollback", None, by)
                target = conn.execute(
                    select(routing_rule_sets).where(routing_rule_sets.c.id == current.previous_id)
                ).one()
                return self._insert(conn, target.rules, "rollback", target.previous_id, by)
        except SQLAlchemyError as exc:
            raise StateError(f"could not roll the routing rules back: {exc}") from exc

    @staticmethod
    def _insert(
        conn: Connection, rules: str, action: str, previous: int | None, by: str
    ) -> RuleSetRecord:
        now = datetime.now(UTC)
        result = conn.execute(
            routing_rule_sets.insert().values(
                rules=rules, action=action, previous_id=previous, created_by=by, created_at=now
            )
        )
        key = result.inserted_primary_key
        assert key is not None  # an INSERT of one row always has one
        new_id = int(key[0])
        return RuleSetRecord(new_id, rules, action, previous, by, now)


class MismatchStore:
    """The shadow_mismatches table."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def record(self, mismatches: Sequence[Mismatch]) -> None:
        """Store the disagreeing metrics of one shadowed query."""
        if not mismatches:
            return
        rows = [
            {
                "recorded_at": m.recorded_at,
                "data_version": m.data_version,
                "primary_backend": m.primary_backend,
                "shadow_backend": m.shadow_backend,
                "query": m.query,
                "grp": m.group,
                "metric": m.metric,
                "primary_value": m.primary_value,
                "shadow_value": m.shadow_value,
                "tolerance": m.tolerance,
                "excess": m.excess,
            }
            for m in mismatches
        ]
        try:
            with self.store.engine.begin() as conn:
                conn.execute(shadow_mismatches.insert(), rows)
        except SQLAlchemyError as exc:
            raise StateError(f"could not record shadow mismatches: {exc}") from exc

    def recent(self, limit: int = 100) -> list[Mismatch]:
        """The newest `limit` mismatches, newest first."""
        t = shadow_mismatches
        query = select(t).order_by(t.c.recorded_at.desc(), t.c.id.desc()).limit(limit)
        try:
            with self.store.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StateError(f"could not read shadow mismatches: {exc}") from exc
        return [
            Mismatch(
                _utc(r.recorded_at),
                r.data_version,
                r.primary_backend,
                r.shadow_backend,
                r.query,
                r.grp,
                r.metric,
                r.primary_value,
                r.shadow_value,
                r.tolerance,
                r.excess,
            )
            for r in rows
        ]


class ValidationStore:
    """The validation_runs and validation_results tables."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def record(
        self,
        run_id: str,
        *,
        started_at: datetime,
        backend: str,
        against: str,
        warehouse_version: str,
        questions: int,
        comparisons: int,
        disagreements: Sequence[Disagreement],
    ) -> None:
        """Store one finished run and its disagreements."""
        try:
            with self.store.engine.begin() as conn:
                conn.execute(
                    validation_runs.insert().values(
                        id=run_id,
                        started_at=started_at,
                        finished_at=datetime.now(UTC),
                        backend=backend,
                        against=against,
                        warehouse_version=warehouse_version,
                        questions=questions,
                        comparisons=comparisons,
                        disagreements=len(disagreements),
                        passed=not disagreements,
                    )
                )
                if disagreements:
                    conn.execute(
                        validation_results.insert(),
                        [
                            {
                                "run_id": run_id,
                                "question": d.question,
                                "grp": d.group,
                                "metric": d.metric,
                                "value": d.value,
                                "against_value": d.against_value,
                                "tolerance": d.tolerance,
                                "excess": d.excess,
                            }
                            for d in disagreements
                        ],
                    )
        except SQLAlchemyError as exc:
            raise StateError(f"could not record validation run {run_id}: {exc}") from exc

    def disagreements(self, run_id: str) -> list[Disagreement]:
        """The disagreements stored for one run."""
        t = validation_results
        try:
            with self.store.engine.connect() as conn:
                rows = conn.execute(select(t).where(t.c.run_id == run_id).order_by(t.c.id)).all()
        except SQLAlchemyError as exc:
            raise StateError(f"could not read validation run {run_id}: {exc}") from exc
        return [
            Disagreement(
                r.question, r.grp, r.metric, r.value, r.against_value, r.tolerance, r.excess
            )
            for r in rows
        ]


def _record(r: Row[Any]) -> RuleSetRecord:
    return RuleSetRecord(
        int(r.id), r.rules, r.action, r.previous_id, r.created_by, _utc(r.created_at)
    )


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written in UTC
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = [
    "Disagreement",
    "Mismatch",
    "MismatchStore",
    "RoutingStore",
    "RuleSetRecord",
    "ValidationStore",
]
