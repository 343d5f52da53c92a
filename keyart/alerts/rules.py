"""Alert rules: what to watch (kind, titles, asset types, metric, threshold, window) and
where to send it; validated before anything is stored, kept in the state store."""

from __future__ import annotations

import builtins
import json
import secrets
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from keyart.alerts.guard import WebhookGuard
from keyart.errors import BadUserInput, NotFound, StateError
from keyart.insights.measures import InsightMetric
from keyart.state.store import StateStore
from keyart.state.tables import alert_rules

MAX_WINDOW_DAYS = 366
MAX_NAME = 200
ASSET_TYPES = ("artwork", "video")


class AlertKind(StrEnum):
    """What a rule looks for."""

    OUTLIER = "outlier"  # an asset standing out among its title's peers on `metric`
    CLICKBAIT = "clickbait"  # high take rate, low authenticity against its peers
    ANOMALY = "anomaly"  # a day of an asset's series departing from its own baseline
    THRESHOLD = "threshold"  # an asset's `metric` over the window at or above `threshold`


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule's input (everything but its id and secret)."""

    name: str
    kind: AlertKind
    title_ids: tuple[str, ...] | None = None  # None: every title
    asset_types: tuple[str, ...] | None = None  # artwork/video; None: both
    metric: InsightMetric | None = None
    threshold: float | None = None
    window_days: int = 7
    countries: tuple[str, ...] | None = None
    affinities: tuple[str, ...] | None = None
    webhook_url: str | None = None

    @property
    def the_metric(self) -> InsightMetric:
        """The metric evaluated (take rate when none is given)."""
        return self.metric or InsightMetric.TAKE_RATE

    def to_json(self) -> str:
        """The spec as stored."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RuleSpec:
        """A stored spec."""
        raw = json.loads(text)
        for name in ("title_ids", "asset_types", "countries", "affinities"):
            if raw.get(name) is not None:
                raw[name] = tuple(raw[name])
        raw["kind"] = AlertKind(raw["kind"])
        raw["metric"] = None if raw.get("metric") is None else InsightMetric(raw["metric"])
        return cls(**raw)


@dataclass(frozen=True, slots=True)
class AlertRule:
    """A stored rule; `secret` signs its webhooks."""

    id: str
    spec: RuleSpec
    secret: str = field(repr=False)
    created_at: datetime
    updated_at: datetime


def validate(spec: RuleSpec, known_titles: Collection[str] | None, guard: WebhookGuard) -> None:
    """BadUserInput naming the first field that is wrong (`known_titles` None: not checked)."""
    if not spec.name.strip() or len(spec.name) > MAX_NAME:
        raise BadUserInput(f"name must be 1-{MAX_NAME} characters")
    if spec.kind is AlertKind.THRESHOLD and spec.threshold is None:
        raise BadUserInput("threshold is required for a THRESHOLD rule")
    if spec.kind is not AlertKind.THRESHOLD and spec.threshold is not None:
        raise BadUserInput(f"threshold applies to THRESHOLD rules only, not {spec.kind.name}")
    if spec.kind is AlertKind.CLICKBAIT and spec.metric is not None:
        raise BadUserInput("metric does not apply to CLICKBAIT rules (take rate vs authenticity)")
    if spec.threshold is not None and spec.threshold != spec.threshold:
        raise BadUserInput("threshold must be a number")
    if not 1 <= spec.window_days <= MAX_WINDOW_DAYS:
        raise BadUserInput(
            f"windowDays must be within 1..{MAX_WINDOW_DAYS}, got {spec.window_days}"
        )
    if spec.title_ids is not None:
        if not spec.title_ids:
            raise BadUserInput("titleIds must list at least one title (null: every title)")
        if known_titles is not None:
            unknown = [t for t in spec.title_ids if t not in known_titles]
            if unknown:
                raise BadUserInput(f"titleIds: unknown title id(s) {', '.join(unknown[:10])}")
    if spec.asset_types is not None:
        bad = [t for t in spec.asset_types if t not in ASSET_TYPES]
        if bad or not spec.asset_types:
            raise BadUserInput("assetTypes must list ARTWORK and/or VIDEO")
    if spec.webhook_url is not None:
        guard.check(spec.webhook_url)


class RuleStore:
    """The alert_rules table of one state store."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def create(self, spec: RuleSpec) -> AlertRule:
        """A new rule with a new signing secret (validated by the caller)."""
        now = datetime.now(UTC)
        rule = AlertRule(secrets.token_hex(8), spec, secrets.token_urlsafe(32), now, now)
        try:
            with self.store.engine.begin() as conn:
                conn.execute(
                    alert_rules.insert().values(
                        id=rule.id,
                        name=spec.name,
                        spec=spec.to_json(),
                        secret=rule.secret,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except SQLAlchemyError as exc:
            raise StateError(f"could not store the alert rule: {exc}") from exc
        return rule

    def update(self, rule_id: str, spec: RuleSpec) -> AlertRule:
        """Replace a rule's spec (its secret stays); NotFound when there is no such rule."""
        now = datetime.now(UTC)
        try:
            with self.store.engine.begin() as conn:
                done = conn.execute(
                    update(alert_rules)
                    .where(alert_rules.c.id == rule_id)
                    .values(name=spec.name, spec=spec.to_json(), updated_at=now)
                )
        except SQLAlchemyError as exc:
            raise StateError(f"could not update alert rule {rule_id}: {exc}") from exc
        if done.rowcount == 0:
            raise NotFound(f"no alert rule has the id {rule_id!r}")
        return self.get(rule_id)

    def delete(self, rule_id: str) -> bool:
        """Delete a rule; False when there was none (its alerts stay, for the record)."""
        try:
            with self.store.engine.begin() as conn:
                done = conn.execute(delete(alert_rules).where(alert_rules.c.id == rule_id))
        except SQLAlchemyError as exc:
            raise StateError(f"could not delete alert rule {rule_id}: {exc}") from exc
        return bool(done.rowcount)

    def get(self, rule_id: str) -> AlertRule:
        """One rule; NotFound when there is none."""
        found = [r for r in self._select(rule_id) if r.id == rule_id]
        if not found:
            raise NotFound(f"no alert rule has the id {rule_id!r}")
        return found[0]

    def list(self) -> list[AlertRule]:
        """Every rule, oldest first."""
        return self._select(None)

    def _select(self, rule_id: str | None) -> builtins.list[AlertRule]:
        query = select(alert_rules).order_by(alert_rules.c.created_at, alert_rules.c.id)
        if rule_id is not None:
            query = query.where(alert_rules.c.id == rule_id)
        try:
            with self.store.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StateError(f"could not read alert rules: {exc}") from exc
        return [
            AlertRule(
                r.id, RuleSpec.from_json(r.spec), r.secret, utc(r.created_at), utc(r.updated_at)
            )
            for r in rows
        ]


def utc(moment: datetime) -> datetime:
    """A stored moment as an aware UTC datetime (SQLite hands back naive ones)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = ["AlertKind", "AlertRule", "RuleSpec", "RuleStore", "utc", "validate"]
