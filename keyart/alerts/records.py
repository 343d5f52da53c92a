"""Evaluations (leases), alerts and the delivery outbox in the state store.

An evaluation of (rule, version) is a row leased to one owner until `lease_until`; what
it found is written in ONE transaction with the alerts, their deliveries and the row's
`done` mark, so a process killed mid-evaluation leaves nothing half-written and another
takes the expired lease over.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from keyart.alerts.rules import utc
from keyart.errors import StateError
from keyart.state.store import StateStore
from keyart.state.tables import alert_evaluations, alerts, deliveries


@dataclass(frozen=True, slots=True)
class Finding:
    """What one rule found about one asset in one version."""

    asset_id: str
    title_id: str
    finding: str  # e.g. outlier:take_rate:high; one open alert per (rule, asset, finding)
    values: dict[str, float | None]
    reason: str


@dataclass(frozen=True, slots=True)
class Alert:
    """A stored alert and how its webhook delivery went (None: no webhook)."""

    seq: int
    id: str
    rule_id: str
    asset_id: str
    title_id: str
    finding: str
    version: str
    days: tuple[str, ...]
    values: dict[str, float | None]
    reason: str
    created_at: datetime
    cleared_at: datetime | None
    delivery_id: str | None = None
    delivery_status: str | None = None
    delivery_attempts: int | None = None
    delivery_error: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery owed (or done)."""

    id: str
    alert_id: str | None
    rule_id: str
    url: str
    body: str
    status: str  # pending | delivered | failed
    attempts: int
    last_error: str | None = None
    response_status: int | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    """What committing an evaluation did."""

    fired: list[Alert]
    cleared: int
    skipped_cooling: int


def new_id() -> str:
    """A random public id."""
    return secrets.token_hex(8)


def alert_payload(alert: Alert, rule_name: str, kind: str, delivery_id: str) -> dict[str, Any]:
    """The JSON body of an alert's webhook."""
    return {
        "type": "alert",
        "delivery": delivery_id,
        "alert": {
            "id": alert.id,
            "ruleId": alert.rule_id,
            "ruleName": rule_name,
            "kind": kind.upper(),
            "assetId": alert.asset_id,
            "titleId": alert.title_id,
            "finding": alert.finding,
            "version": alert.version,
            "days": list(alert.days),
            "values": alert.values,
            "reason": alert.reason,
            "createdAt": alert.created_at.isoformat(),
        },
    }


class AlertRecords:
    """Evaluations, alerts and deliveries of one state store."""

    def __init__(self, store: StateStore, owner: str) -> None:
        self.store = store
        self.owner = owner

    # -- evaluations -----------------------------------------------------------------
    def acquire(self, rule_id: str, version: str, lease_s: float) -> bool:
        """Take the evaluation of (rule, version): True when this owner now holds its lease
        (new, or an expired lease taken over); False when done or held by another."""
        now = datetime.now(UTC)
        until = now + timedelta(seconds=lease_s)
        key = and_(alert_evaluations.c.rule_id == rule_id, alert_evaluations.c.version == version)
        # each transaction writes first: SQLite cannot upgrade a read transaction to a
        # write one while another process writes (it fails at once instead of waiting)
        try:
            try:
                with self.store.engine.begin() as conn:
                    conn.execute(
                        alert_evaluations.insert().values(
                            rule_id=rule_id,
                            version=version,
                            status="running",
                            owner=self.owner,
                            lease_until=until,
                            attempts=1,
                        )
                    )
                return True
            except IntegrityError:
                pass  # evaluated, or being evaluated: take it over only if its lease expired
            with self.store.engine.begin() as conn:
                taken = conn.execute(
                    update(alert_evaluations)
                    .where(key)
                    .where(alert_evaluations.c.status == "running")
                    .where(alert_evaluations.c.lease_until < now)
                    .values(
                        owner=self.owner,
                        lease_until=until,
                        attempts=alert_evaluations.c.attempts + 1,
                    )
                )
            return bool(taken.rowcount)
        except SQLAlchemyError as exc:
            raise StateError(f"could not lease evaluation {rule_id}@{version}: {exc}") from exc

    def release(self, rule_id: str, version: str) -> None:
        """Give a lease up now (the evaluation failed; another may try at once)."""
        with self.store.engine.begin() as conn:
            conn.execute(
                update(alert_evaluations)
                .where(alert_evaluations.c.rule_id == rule_id)
                .where(alert_evaluations.c.version == version)
                .where(alert_evaluations.c.owner == self.owner)
                .where(alert_evaluations.c.status == "running")
                .values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
            )

    def done_rules(self, version: str) -> set[str]:
        """The rules whose evaluation of `version` is finished."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(alert_evaluations.c.rule_id)
                .where(alert_evaluations.c.version == version)
                .where(alert_evaluations.c.status == "done")
            ).all()
        return {r.rule_id for r in rows}

    def evaluations(self) -> list[dict[str, Any]]:
        """Every evaluation row (for tests and operators)."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(alert_evaluations)).all()
        return [dict(r._mapping) for r in rows]

    def commit(
        self,
        rule_id: str,
        rule_name: str,
        kind: str,
        webhook_url: str | None,
        version: str,
        days: Sequence[str],
        found: Sequence[Finding] | None,
        cooldown_s: float,
    ) -> Recorded | None:
        """Record an evaluation's findings in one transaction: new alerts for findings not
        open yet (and not cooling down), open alerts no longer found cleared, a delivery
        per new alert when the rule has a webhook, the evaluation marked done (`found`
        None: a version that changed no day; only the mark is written). None when
        the lease was lost meanwhile (another owner took it; nothing is written)."""
        now = datetime.now(UTC)
        try:
            with self.store.engine.begin() as conn:
                held = conn.execute(
                    update(alert_evaluations)
                    .where(alert_evaluations.c.rule_id == rule_id)
                    .where(alert_evaluations.c.version == version)
                    .where(alert_evaluations.c.owner == self.owner)
                    .where(alert_evaluations.c.status == "running")
                    .values(status="done", finished_at=now, found=len(found or ()))
                )
                if not held.rowcount:
                    return None
                if found is None:
                    return Recorded([], 0, 0)
                return self._record(
                    conn, rule_id, rule_name, kind, webhook_url, version, days, found,
                    cooldown_s, now,
                )  # fmt: skip
        except SQLAlchemyError as exc:
            raise StateError(f"could not record evaluation {rule_id}@{version}: {exc}") from exc

    def _record(
        self,
        conn: Connection,
        rule_id: str,
        rule_name: str,
        kind: str,
        webhook_url: str | None,
        version: str,
        days: Sequence[str],
        found: Sequence[Finding],
        cooldown_s: float,
        now: datetime,
    ) -> Recorded:
        open_rows = conn.execute(
            select(alerts.c.id, alerts.c.asset_id, alerts.c.finding)
            .where(alerts.c.rule_id == rule_id)
            .where(alerts.c.cleared_at.is_(None))
        ).all()
        open_keys = {(r.asset_id, r.finding): r.id for r in open_rows}
        found_keys = {(f.asset_id, f.finding) for f in found}
        gone = [aid for key, aid in open_keys.items() if key not in found_keys]
        if gone:
            conn.execute(update(alerts).where(alerts.c.id.in_(gone)).values(cleared_at=now))
        cooling: set[tuple[str, str]] = set()
        if cooldown_s > 0:
            since = now - timedelta(seconds=cooldown_s)
            recent = conn.execute(
                select(alerts.c.asset_id, alerts.c.finding)
                .where(alerts.c.rule_id == rule_id)
                .where(alerts.c.cleared_at.is_not(None))
                .where(alerts.c.cleared_at > since)
            ).all()
            cooling = {(r.asset_id, r.finding) for r in recent}
        fired: list[Alert] = []
        skipped = 0
        for f in found:
            key = (f.asset_id, f.finding)
            if key in open_keys:
                continue
            if key in cooling:
                skipped += 1
                continue
            alert_id = new_id()
            result = conn.execute(
                alerts.insert().values(
                    id=alert_id,
                    rule_id=rule_id,
                    asset_id=f.asset_id,
                    title_id=f.title_id,
                    finding=f.finding,
                    version=version,
                    days=json.dumps(list(days)),
                    values=json.dumps(f.values),
                    reason=f.reason,
                    created_at=now,
                )
            )
            inserted = result.inserted_primary_key
            assert inserted is not None
            seq = int(inserted[0])
            alert = Alert(
                seq, alert_id, rule_id, f.asset_id, f.title_id, f.finding, version,
                tuple(days), f.values, f.reason, now, None,
            )  # fmt: skip
            if webhook_url is not None:
                delivery_id = new_id()
                body = json.dumps(alert_payload(alert, rule_name, kind, delivery_id))
                self.enqueue(conn, delivery_id, alert_id, rule_id, webhook_url, body, now)
            fired.append(alert)
        return Recorded(fired, len(gone), skipped)

    # -- deliveries ------------------------------------------------------------------
    @staticmethod
    def enqueue(
        conn: Connection,
        delivery_id: str,
        alert_id: str | None,
        rule_id: str,
        url: str,
        body: str,
        now: datetime,
    ) -> None:
        """Add a delivery to the outbox (in the caller's transaction)."""
        conn.execute(
            deliveries.insert().values(
                id=delivery_id,
                alert_id=alert_id,
                rule_id=rule_id,
                url=url,
                body=body,
                status="pending",
                attempts=0,
                created_at=now,
            )
        )

    def add_delivery(self, rule_id: str, url: str, body_of: Any) -> Delivery:
        """A new pending delivery not tied to an alert (a rule's test event); `body_of`
        makes the body from the delivery id."""
        delivery_id = new_id()
        body = json.dumps(body_of(delivery_id))
        with self.store.engine.begin() as conn:
            self.enqueue(conn, delivery_id, None, rule_id, url, body, datetime.now(UTC))
        return Delivery(delivery_id, None, rule_id, url, body, "pending", 0)

    def claim(
        self, lease_s: float, limit: int = 50, delivery_id: str | None = None
    ) -> list[Delivery]:
        """Pending deliveries this owner now holds for `lease_s` (none another holds)."""
        now = datetime.now(UTC)
        free = or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now)
        query = (
            select(deliveries)
            .where(deliveries.c.status == "pending")
            .where(free)
            .order_by(deliveries.c.created_at)
            .limit(limit)
        )
        if delivery_id is not None:
            query = query.where(deliveries.c.id == delivery_id)
        claimed: list[Delivery] = []
        with self.store.engine.begin() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            with self.store.engine.begin() as conn:
                won = conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == row.id)
                    .where(deliveries.c.status == "pending")
                    .where(free)
                    .values(claimed_until=now + timedelta(seconds=lease_s))
                )
            if won.rowcount:
                claimed.append(_delivery(row))
        return claimed

    def finish(
        self,
        delivery_id: str,
        delivered: bool,
        attempts: int,
        status: int | None,
        error: str | None,
        latency_s: float,
    ) -> Delivery:
        """Record how a claimed delivery ended."""
        with self.store.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    status="delivered" if delivered else "failed",
                    attempts=deliveries.c.attempts + attempts,
                    response_status=status,
                    last_error=error,
                    latency_s=latency_s,
                    finished_at=datetime.now(UTC),
                    claimed_until=None,
                )
            )
            row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one()
        return _delivery(row)

    def deliveries(self) -> list[Delivery]:
        """Every delivery, oldest first."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(deliveries).order_by(deliveries.c.created_at)).all()
        return [_delivery(r) for r in rows]

    # -- alerts ----------------------------------------------------------------------
    def alerts(
        self,
        rule_ids: Sequence[str] | None = None,
        after_seq: int | None = None,
        limit: int = 50,
        newest_first: bool = True,
    ) -> list[Alert]:
        """Alerts with their delivery state; newest first (or, for pushing, oldest first
        after `after_seq`)."""
        query = select(
            alerts,
            deliveries.c.id.label("delivery_id"),
            deliveries.c.status.label("delivery_status"),
            deliveries.c.attempts.label("delivery_attempts"),
            deliveries.c.last_error.label("delivery_error"),
        ).outerjoin(deliveries, deliveries.c.alert_id == alerts.c.id)
        if rule_ids is not None:
            query = query.where(alerts.c.rule_id.in_(list(rule_ids)))
        if after_seq is not None:
            query = query.where(
                alerts.c.seq < after_seq if newest_first else alerts.c.seq > after_seq
            )
        query = query.order_by(alerts.c.seq.desc() if newest_first else alerts.c.seq).limit(limit)
        try:
            with self.store.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StateError(f"could not read alerts: {exc}") from exc
        return [_alert(r) for r in rows]

    def last_seq(self) -> int:
        """The newest alert's sequence number (0 when there is none)."""
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(alerts.c.seq), 0))).scalar_one())


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row.id, row.alert_id, row.rule_id, row.url, row.body, row.status, row.attempts,
        row.last_error, row.response_status,
    )  # fmt: skip


def _alert(row: Any) -> Alert:
    return Alert(
        seq=int(row.seq),
        id=row.id,
        rule_id=row.rule_id,
        asset_id=row.asset_id,
        title_id=row.title_id,
        finding=row.finding,
        version=row.version,
        days=tuple(json.loads(row.days)),
        values=json.loads(row.values),
        reason=row.reason,
        created_at=utc(row.created_at),
        cleared_at=None if row.cleared_at is None else utc(row.cleared_at),
        delivery_id=row.delivery_id,
        delivery_status=row.delivery_status,
        delivery_attempts=row.delivery_attempts,
        delivery_error=row.delivery_error,
    )


__all__ = ["Alert", "AlertRecords", "Delivery", "Finding", "Recorded", "alert_payload", "new_id"]
