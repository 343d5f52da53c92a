"""Snapshot-backed fields: titles and assets by id, title pages, a title's assets, all-time
metrics, availability and filter options, and what the served data covers; every answer
comes from the request's one snapshot through the snapshot queries (keyart.store.queries)."""

from __future__ import annotations

from collections.abc import Sequence

from keyart.errors import BadUserInput, NotFound
from keyart.query import MetricValues
from keyart.resolvers.context import RequestContext
from keyart.store import queries
from keyart.store.model import AssetInfo, DataRange, FilterOptions, TitleInfo

MAX_ASSET_IDS = 500


def title(ctx: RequestContext, title_id: str) -> TitleInfo | None:
    """A title by id; None when the served data has no such title."""
    return queries.title(ctx.snapshot, title_id)


def asset(ctx: RequestContext, asset_id: str) -> AssetInfo | None:
    """An asset by id; None when the served data has no such asset."""
    return queries.asset(ctx.snapshot, asset_id)


def known_asset(ctx: RequestContext, asset_id: str) -> AssetInfo:
    """An asset an answer names (an outlier, a compared asset); NotFound when it is gone."""
    record = asset(ctx, asset_id)
    if record is None:
        raise NotFound(f"no asset {asset_id}")
    return record


def assets(ctx: RequestContext, asset_ids: Sequence[str]) -> list[AssetInfo | None]:
    """Assets by id in the order asked, None for unknown ids; at most MAX_ASSET_IDS."""
    if len(asset_ids) > MAX_ASSET_IDS:
        raise BadUserInput(f"assets(ids) takes at most {MAX_ASSET_IDS} ids, got {len(asset_ids)}")
    snapshot = ctx.snapshot
    return [queries.asset(snapshot, a) for a in asset_ids]


def asset_title(ctx: RequestContext, record: AssetInfo) -> TitleInfo:
    """The title an asset promotes; NotFound when the snapshot does not hold it."""
    found = title(ctx, record.title_id)
    if found is None:
        raise NotFound(f"asset {record.id} names unknown title {record.title_id}")
    return found


def title_assets(ctx: RequestContext, title_id: str, asset_type: str | None) -> list[AssetInfo]:
    """A title's assets in their stable order, optionally of one type only."""
    return queries.title_assets(ctx.snapshot, title_id, asset_type)


def titles_page(
    ctx: RequestContext,
    first: int,
    after: str | None,
    search: str | None,
    criteria: queries.TitleCriteria,
    order_by: queries.TitleOrder,
) -> queries.TitlePage:
    """One Relay page of the titles meeting `criteria` whose name contains `search`."""
    return queries.titles_page(
        ctx.snapshot,
        first,
        after,
        search,
        None if criteria.unconstrained else criteria,
        order_by,
    )


def asset_alltime(ctx: RequestContext, asset_id: str) -> MetricValues:
    """An asset's metrics over all days (zero without data)."""
    return queries.asset_alltime(ctx.snapshot, asset_id)


def title_alltime(ctx: RequestContext, title_id: str) -> MetricValues:
    """A title's metrics over all days, distinct across its assets (zero without data)."""
    return queries.title_alltime(ctx.snapshot, title_id)


def asset_availability(ctx: RequestContext, asset_id: str) -> tuple[str, ...]:
    """The sorted countries where an asset had impressions."""
    return queries.asset_availability(ctx.snapshot, asset_id)


def title_availability(ctx: RequestContext, title_id: str) -> tuple[str, ...]:
    """The sorted countries where any asset of a title had impressions."""
    return queries.title_availability(ctx.snapshot, title_id)


def title_filter_options(ctx: RequestContext, title_id: str) -> FilterOptions | None:
    """The countries and affinities present in a title's data; None without data."""
    return queries.title_filter_options(ctx.snapshot, title_id)


def affinities(ctx: RequestContext) -> tuple[str, ...]:
    """Every audience affinity label in the served data."""
    return tuple(ctx.snapshot.affinities)


def data_range(ctx: RequestContext) -> DataRange | None:
    """The days the served data covers; None when its snapshot names none."""
    return DataRange.of(ctx.snapshot)


def data_version(ctx: RequestContext) -> str:
    """The version of the served snapshot."""
    return ctx.snapshot.version


def warehouse_version(ctx: RequestContext) -> str:
    """The warehouse version the served snapshot was built from."""
    return ctx.snapshot.warehouse_version


__all__ = [
    "MAX_ASSET_IDS",
    "affinities",
    "asset",
    "asset_alltime",
    "asset_availability",
    "asset_title",
    "assets",
    "data_range",
    "data_version",
    "known_asset",
    "title",
    "title_alltime",
    "title_assets",
    "title_availability",
    "title_filter_options",
    "titles_page",
    "warehouse_version",
]
