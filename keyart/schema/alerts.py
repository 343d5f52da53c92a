"""GraphQL of notifications: alert rules (admin mutations), alerts (a paginated query and a
subscription); thin resolvers over keyart.alerts (docs/notifications.md)."""

# strawberry.field used as a decorator is typed `Any` by strawberry-graphql 0.341
# mypy: disable-error-code="untyped-decorator"

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import logging
from collections.abc import AsyncGenerator
from enum import Enum
from typing import Any

import strawberry

from keyart.access.permissions import AdminOnly
from keyart.alerts import records as rec
from keyart.alerts import rules as ru
from keyart.alerts.service import AlertService
from keyart.errors import BadUserInput, StateError
from keyart.insights import measures
from keyart.resolvers import catalog
from keyart.resolvers.context import RequestContext
from keyart.schema.asset import Asset
from keyart.schema.enums import AssetType, InsightMetric
from keyart.schema.inputs import MetricFilter
from keyart.schema.title import PageInfo, Title

Info = strawberry.Info[RequestContext, None]
log = logging.getLogger(__name__)
MAX_FIRST = 500
WS_ACTIVE = "keyart.ws_active"  # websocket scope: [active subscriptions, last change]


@strawberry.enum(description="What an alert rule looks for.")
class AlertKind(Enum):
    OUTLIER = "outlier"
    CLICKBAIT = "clickbait"
    ANOMALY = "anomaly"
    THRESHOLD = "threshold"


@strawberry.input(description="What an alert rule watches and where it sends its alerts.")
class AlertRuleInput:
    name: str
    kind: AlertKind
    title_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The titles watched; null: every title."
    )
    asset_types: list[AssetType] | None = None
    metric: InsightMetric | None = strawberry.field(
        default=None, description="OUTLIER, ANOMALY, THRESHOLD: the metric (TAKE_RATE if null)."
    )
    threshold: float | None = strawberry.field(
        default=None, description="THRESHOLD: fire when the metric is at or above it."
    )
    window_days: int = strawberry.field(
        default=7, description="The trailing window evaluated on each new data version."
    )
    filter: MetricFilter | None = strawberry.field(
        default=None, description="Countries and affinities of the events evaluated."
    )
    webhook_url: str | None = strawberry.field(
        default=None, description="Where alerts are POSTed, signed; subscriptions always get them."
    )

    def to_spec(self) -> ru.RuleSpec:
        """The rule spec; BadUserInput naming a filter field rules do not take."""
        countries = affinities = None
        types = None if self.asset_types is None else [t.value for t in self.asset_types]
        if self.filter is not None:
            flt = self.filter.to_filter()
            for name in ("exclude_countries", "affinities_all", "exclude_affinities"):
                if getattr(flt, name) is not None:
                    raise BadUserInput(f"filter.{_camel(name)} is not supported by alert rules")
            countries, affinities = flt.countries, flt.affinities
            if flt.asset_types is not None:
                types = sorted(set(types or flt.asset_types) & set(flt.asset_types))
        return ru.RuleSpec(
            name=self.name,
            kind=ru.AlertKind(self.kind.value),
            title_ids=None if self.title_ids is None else tuple(str(t) for t in self.title_ids),
            asset_types=None if types is None else tuple(types),
            metric=None if self.metric is None else measures.InsightMetric(self.metric.value),
            threshold=self.threshold,
            window_days=self.window_days,
            countries=countries,
            affinities=affinities,
            webhook_url=self.webhook_url,
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@strawberry.type(description="An alert rule.")
class AlertRule:
    id: strawberry.ID
    name: str
    kind: AlertKind
    title_ids: list[strawberry.ID] | None
    asset_types: list[AssetType] | None
    metric: InsightMetric | None
    threshold: float | None
    window_days: int
    countries: list[str] | None
    affinities: list[str] | None
    webhook_url: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    secret: str | None = strawberry.field(
        description="The webhook signing secret: returned once, by createAlertRule; null after."
    )

    @classmethod
    def of(cls, rule: ru.AlertRule, *, with_secret: bool = False) -> AlertRule:
        """The GraphQL view of a stored rule."""
        s = rule.spec
        return cls(
            id=strawberry.ID(rule.id),
            name=s.name,
            kind=AlertKind(s.kind.value),
            title_ids=None if s.title_ids is None else [strawberry.ID(t) for t in s.title_ids],
            asset_types=None if s.asset_types is None else [AssetType(t) for t in s.asset_types],
            metric=None if s.metric is None else InsightMetric(s.metric.value),
            threshold=s.threshold,
            window_days=s.window_days,
            countries=None if s.countries is None else list(s.countries),
            affinities=None if s.affinities is None else list(s.affinities),
            webhook_url=s.webhook_url,
            created_at=rule.created_at,
            updated_at=rule.updated_at,
            secret=rule.secret if with_secret else None,
        )


@strawberry.type(description="One webhook delivery: pending, delivered or failed.")
class AlertDelivery:
    id: strawberry.ID = strawberry.field(description="The X-Keyart-Delivery header sent.")
    status: str
    attempts: int
    response_status: int | None
    error: str | None


@strawberry.type(description="A metric value an alert was found on.")
class AlertValue:
    name: str
    value: float | None


@strawberry.type(description="What a rule found about an asset in a data version.")
class Alert:
    id: strawberry.ID
    rule_id: strawberry.ID
    asset_id: strawberry.ID
    title_id: strawberry.ID
    finding: str = strawberry.field(description="e.g. outlier:take_rate:high; one open per asset.")
    data_version: str = strawberry.field(description="The warehouse version it was found in.")
    days: list[dt.date] = strawberry.field(description="The days that version added or changed.")
    values: list[AlertValue]
    reason: str
    created_at: dt.datetime
    cleared_at: dt.datetime | None = strawberry.field(
        description="When the finding was no longer found (null: still open)."
    )
    delivery: AlertDelivery | None = strawberry.field(
        description="Its webhook delivery (null: the rule has no webhook)."
    )

    @strawberry.field(description="The asset (null when the served data no longer has it).")
    def asset(self, info: Info) -> Asset | None:
        record = catalog.asset(info.context, str(self.asset_id))
        return None if record is None else Asset.shared(info.context, record)

    @strawberry.field(description="The title (null when the served data no longer has it).")
    def title(self, info: Info) -> Title | None:
        record = catalog.title(info.context, str(self.title_id))
        return None if record is None else Title.shared(info.context, record)

    @classmethod
    def of(cls, a: rec.Alert) -> Alert:
        """The GraphQL view of a stored alert."""
        delivery = None
        if a.delivery_id is not None:
            delivery = AlertDelivery(
                id=strawberry.ID(a.delivery_id),
                status=a.delivery_status or "pending",
                attempts=a.delivery_attempts or 0,
                response_status=None,
                error=a.delivery_error,
            )
        return cls(
            id=strawberry.ID(a.id),
            rule_id=strawberry.ID(a.rule_id),
            asset_id=strawberry.ID(a.asset_id),
            title_id=strawberry.ID(a.title_id),
            finding=a.finding,
            data_version=a.version,
            days=[dt.date.fromisoformat(d) for d in a.days],
            values=[AlertValue(name=k, value=v) for k, v in sorted(a.values.items())],
            reason=a.reason,
            created_at=a.created_at,
            cleared_at=a.cleared_at,
            delivery=delivery,
        )


@strawberry.type
class AlertEdge:
    cursor: str
    node: Alert


@strawberry.type(description="A page of alerts, newest first.")
class AlertConnection:
    edges: list[AlertEdge]
    page_info: PageInfo


def _service(info: Info) -> AlertService:
    service = info.context.alerts
    if service is None:
        raise StateError("notifications are not available on this server")
    return service


def _cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"alert:{seq}".encode()).decode()


def _seq(cursor: str) -> int:
    try:
        kind, _, seq = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "alert":
            raise ValueError(kind)
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadUserInput(f"after: {cursor!r} is not a cursor of alerts") from exc


async def _guarded(what: str, call: Any, *args: Any) -> Any:
    # the client gets no database text; the log keeps it
    try:
        return await asyncio.to_thread(call, *args)
    except StateError as exc:
        log.error("%s: %s", what, exc)
        raise StateError(f"{what}: the state store cannot be reached right now") from exc


async def alert_rules(info: Info) -> list[AlertRule]:
    """Every alert rule, oldest first (admin keys only)."""
    found = await _guarded("alertRules", _service(info).rules.list)
    return [AlertRule.of(r) for r in found]


async def alerts(
    info: Info,
    rule_id: strawberry.ID | None = None,
    first: int = 50,
    after: str | None = None,
) -> AlertConnection:
    """Alerts newest first, with their delivery state (failed deliveries included)."""
    info.context.extras["uncacheable"] = True  # alerts change without a new data version
    if not 1 <= first <= MAX_FIRST:
        raise BadUserInput(f"first must be within 1..{MAX_FIRST}, got {first}")
    before = None if after is None else _seq(after)
    rules = None if rule_id is None else [str(rule_id)]
    found = await _guarded("alerts", _service(info).records.alerts, rules, before, first + 1, True)
    page = found[:first]
    return AlertConnection(
        edges=[AlertEdge(cursor=_cursor(a.seq), node=Alert.of(a)) for a in page],
        page_info=PageInfo(
            has_next_page=len(found) > first,
            end_cursor=_cursor(page[-1].seq) if page else None,
        ),
    )


alert_rules_field = strawberry.field(
    resolver=alert_rules,
    permission_classes=[AdminOnly],
    description="Every alert rule, oldest first (admin keys only).",
)
alerts_field = strawberry.field(
    resolver=alerts, description="Alerts newest first, with their webhook delivery state."
)


@strawberry.type(description="Changes: alert rules (admin keys only).")
class AlertMutation:
    @strawberry.mutation(
        permission_classes=[AdminOnly],
        description="Create a rule; its webhook signing secret is in the answer, only here.",
    )
    async def create_alert_rule(self, info: Info, input: AlertRuleInput) -> AlertRule:
        service = _service(info)
        spec = input.to_spec()
        rule = await asyncio.to_thread(service.create_rule, spec, info.context.snapshot_or_none)
        service.wake.set()  # evaluated on the served version at once
        return AlertRule.of(rule, with_secret=True)

    @strawberry.mutation(permission_classes=[AdminOnly], description="Replace a rule's input.")
    async def update_alert_rule(
        self, info: Info, id: strawberry.ID, input: AlertRuleInput
    ) -> AlertRule:
        service = _service(info)
        spec = input.to_spec()
        rule = await asyncio.to_thread(
            service.update_rule, str(id), spec, info.context.snapshot_or_none
        )
        return AlertRule.of(rule)

    @strawberry.mutation(
        permission_classes=[AdminOnly], description="Delete a rule; false when there was none."
    )
    async def delete_alert_rule(self, info: Info, id: strawberry.ID) -> bool:
        return bool(await _guarded("deleteAlertRule", _service(info).rules.delete, str(id)))

    @strawberry.mutation(
        permission_classes=[AdminOnly],
        description="Send a signed test event to the rule's webhook now; how it went.",
    )
    async def test_alert_rule(self, info: Info, id: strawberry.ID) -> AlertDelivery:
        d = await asyncio.to_thread(_service(info).test_rule, str(id))
        return AlertDelivery(
            id=strawberry.ID(d.id),
            status=d.status,
            attempts=d.attempts,
            response_status=d.response_status,
            error=d.last_error,
        )


@strawberry.type(description="Pushed to websocket clients (graphql-transport-ws, graphql-ws).")
class Subscription:
    @strawberry.subscription(description="New alerts of these rules (null: every rule).")
    async def alerts(
        self, info: Info, rule_ids: list[strawberry.ID] | None = None
    ) -> AsyncGenerator[Alert, None]:
        service = _service(info)
        scope = getattr(info.context.request, "scope", {})
        active = scope.setdefault(WS_ACTIVE, [0, 0.0])
        active[0] += 1
        try:
            async for alert in service.broker.subscribe(
                None if rule_ids is None else [str(r) for r in rule_ids]
            ):
                yield Alert.of(alert)
        finally:
            active[0] -= 1
            active[1] = asyncio.get_running_loop().time()


__all__ = [
    "Alert",
    "AlertConnection",
    "AlertMutation",
    "AlertRule",
    "AlertRuleInput",
    "Subscription",
    "alert_rules_field",
    "alerts_field",
]
