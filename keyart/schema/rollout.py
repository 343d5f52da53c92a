"""Admin fields of rollouts: stackDiff on titles and assets, recent shadow mismatches, the
routing rules in force, and the mutations that change or roll them back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import TypeVar

import strawberry

from keyart.access.gate import KEY_NAME
from keyart.access.permissions import AdminOnly
from keyart.errors import StateError
from keyart.resolvers.context import RequestContext
from keyart.resolvers.stackdiff import StackDiff as Diff
from keyart.rollout.compare import Verdict
from keyart.rollout.routing import RuleSet, describe
from keyart.state.rollout import RuleSetRecord

Info = strawberry.Info[RequestContext, None]
log = logging.getLogger(__name__)
MAX_MISMATCHES = 1000
T = TypeVar("T")


@strawberry.enum(description="A metric stack keyart can answer from.")
class Backend(Enum):
    EMBEDDED = "embedded"
    DRUID = "druid"
    LEGACY = "legacy"


@strawberry.type(description="One metric from two stacks and whether they agree.")
class MetricDiff:
    metric: str = strawberry.field(description="e.g. impressions, unique_players")
    value: float = strawberry.field(description="from the stack serving this request")
    against_value: float = strawberry.field(description="from the `against` stack")
    difference: float = strawberry.field(description="againstValue − value")
    tolerance: float = strawberry.field(
        description="largest allowed |difference| (0 for exact counts; sketch bounds for "
        "distinct counts, see docs/rollout.md)"
    )
    outside_by: float = strawberry.field(description="how far outside tolerance; 0 when within")
    within_tolerance: bool

    @classmethod
    def of(cls, v: Verdict) -> MetricDiff:
        """The GraphQL view of one verdict."""
        return cls(
            metric=v.metric.value,
            value=v.a,
            against_value=v.b,
            difference=v.difference,
            tolerance=v.tolerance,
            outside_by=v.excess,
            within_tolerance=v.within,
        )


@strawberry.type(description="The same metrics from two stacks side by side.")
class StackDiff:
    backend: str = strawberry.field(description="the stack serving this request (as routed)")
    against: str
    within_tolerance: bool = strawberry.field(description="every metric within tolerance")
    metrics: list[MetricDiff]

    @classmethod
    def of(cls, diff: Diff) -> StackDiff:
        """The GraphQL view of a comparison."""
        return cls(
            backend=diff.backend,
            against=diff.against,
            within_tolerance=all(v.within for v in diff.verdicts),
            metrics=[MetricDiff.of(v) for v in diff.verdicts],
        )


@strawberry.type(description="A metric of a shadowed query that disagreed with the answer.")
class ShadowMismatch:
    recorded_at: datetime
    data_version: str
    primary_backend: str
    shadow_backend: str
    query: str = strawberry.field(description="the backend query, as canonical JSON")
    group: str = strawberry.field(description="time bucket and dimension values")
    metric: str
    primary_value: float
    shadow_value: float
    tolerance: float
    outside_by: float


@strawberry.type(description="A routing rule set and who put it in force when.")
class RoutingRuleSet:
    id: int
    rules: str = strawberry.field(description="the rule set as JSON (docs/rollout.md)")
    summary: list[str] = strawberry.field(description="one line per rule, then the default")
    action: str = strawberry.field(description="set or rollback")
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, record: RuleSetRecord) -> RoutingRuleSet:
        """The GraphQL view of a stored rule set."""
        rules = RuleSet.parse(record.rules)
        lines = [*describe(rules.rules), f"default -> {rules.default or 'the server backend'}"]
        return cls(
            id=record.id,
            rules=record.rules,
            summary=lines,
            action=record.action,
            created_by=record.created_by,
            created_at=record.created_at,
        )


def _who(info: Info) -> str:
    scope = getattr(info.context.request, "scope", None) or {}
    return f"key:{scope.get(KEY_NAME) or 'unknown'}"


async def _state(what: str, call: Callable[..., T], *args: object) -> T:
    try:
        return await asyncio.to_thread(call, *args)
    except StateError as exc:
        # the client gets no database text; the log keeps it
        log.error("%s: %s", what, exc)
        raise StateError(f"the {what} cannot be read or written right now") from exc


async def shadow_mismatches(info: Info, limit: int = 50) -> list[ShadowMismatch] | None:
    """The newest shadow mismatches, newest first."""
    rollout = info.context.rollout
    if rollout is None or rollout.mismatches is None:
        raise StateError("shadow records are not available on this server")
    limit = max(1, min(limit, MAX_MISMATCHES))
    found = await _state("shadow mismatches", rollout.mismatches.recent, limit)
    return [
        ShadowMismatch(
            recorded_at=m.recorded_at,
            data_version=m.data_version,
            primary_backend=m.primary_backend,
            shadow_backend=m.shadow_backend,
            query=m.query,
            group=m.group,
            metric=m.metric,
            primary_value=m.primary_value,
            shadow_value=m.shadow_value,
            tolerance=m.tolerance,
            outside_by=m.excess,
        )
        for m in found
    ]


async def routing_rules(info: Info, history: int = 10) -> list[RoutingRuleSet] | None:
    """The rule set in force first, then earlier ones (newest first)."""
    rollout = info.context.rollout
    if rollout is None or rollout.routing is None:
        raise StateError("routing records are not available on this server")
    found = await _state("routing rules", rollout.routing.history, max(1, min(history, 100)))
    return [RoutingRuleSet.of(r) for r in found]


async def set_routing_rules(info: Info, rules: str) -> RoutingRuleSet | None:
    """Validate and put a new rule set in force; recorded with the caller's key name."""
    rollout = info.context.rollout
    if rollout is None or rollout.routing is None:
        raise StateError("routing records are not available on this server")
    parsed = RuleSet.parse(rules)  # BAD_USER_INPUT naming what is wrong
    record = await _state("routing rules", rollout.routing.set, parsed.text(), _who(info))
    await asyncio.to_thread(rollout.router.refresh)  # this server at once, others on poll
    return RoutingRuleSet.of(record)


async def rollback_routing_rules(info: Info) -> RoutingRuleSet | None:
    """Put back the rule set in force before the current one."""
    rollout = info.context.rollout
    if rollout is None or rollout.routing is None:
        raise StateError("routing records are not available on this server")
    record = await _state("routing rules", rollout.routing.rollback, _who(info))
    await asyncio.to_thread(rollout.router.refresh)
    return RoutingRuleSet.of(record)


shadow_mismatches_field = strawberry.field(
    resolver=shadow_mismatches,
    permission_classes=[AdminOnly],
    description="Recent shadow-traffic mismatches, newest first (admin keys only).",
)
routing_rules_field = strawberry.field(
    resolver=routing_rules,
    permission_classes=[AdminOnly],
    description="The routing rule set in force, then its history (admin keys only).",
)


@strawberry.type
class Mutation:
    set_routing_rules = strawberry.mutation(
        resolver=set_routing_rules,
        permission_classes=[AdminOnly],
        description="Put a routing rule set (JSON, docs/rollout.md) in force; servers pick "
        "it up within seconds (admin keys only).",
    )
    rollback_routing_rules = strawberry.mutation(
        resolver=rollback_routing_rules,
        permission_classes=[AdminOnly],
        description="Put back the routing rule set in force before the current one "
        "(admin keys only).",
    )


__all__ = [
    "Backend",
    "MetricDiff",
    "Mutation",
    "RoutingRuleSet",
    "ShadowMismatch",
    "StackDiff",
    "routing_rules_field",
    "shadow_mismatches_field",
]
