"""Warnings about what the served data does not cover: windows outside its days, filter
values (countries, affinities) a title has no data for. Answers stay as they are (zeros
where there is nothing); the warning says why."""

from __future__ import annotations

from keyart.query import Filter, Interval
from keyart.resolvers.context import RequestContext
from keyart.store.model import DataRange

WINDOW_OUTSIDE_DATA = "WINDOW_OUTSIDE_DATA"
WINDOW_PARTLY_OUTSIDE_DATA = "WINDOW_PARTLY_OUTSIDE_DATA"
NO_DATA_FOR_FILTER_VALUE = "NO_DATA_FOR_FILTER_VALUE"


def check_window(ctx: RequestContext, interval: Interval) -> None:
    """Warn when a window lies wholly or partly outside the days the data covers."""
    covered = DataRange.of(ctx.snapshot)
    if covered is None:
        return
    window = f"window {interval.start.isoformat()}..{interval.end.isoformat()}"
    data = f"the data covers {covered.first.isoformat()}..{covered.last.isoformat()}"
    if interval.end < covered.first or interval.start > covered.last:
        ctx.warnings.add(WINDOW_OUTSIDE_DATA, f"{window} lies outside the data: {data}")
    elif interval.start < covered.first or interval.end > covered.last:
        ctx.warnings.add(
            WINDOW_PARTLY_OUTSIDE_DATA, f"{window} lies partly outside the data: {data}"
        )


def check_filter(ctx: RequestContext, title_id: str, flt: Filter) -> None:
    """Warn for each country or affinity of a filter that the title has no data for."""
    if not flt.countries and not flt.affinities:
        return
    snapshot = ctx.snapshot
    options = snapshot.title_filter_options.get(title_id)
    countries = set(options.countries) if options is not None else set()
    affinities = set(options.affinities) if options is not None else set()
    title = snapshot.titles.get(title_id)
    name = f"title {title_id}" if title is None else f"title {title_id} ({title.name})"
    for country in flt.countries or ():
        if country not in countries:
            ctx.warnings.add(
                NO_DATA_FOR_FILTER_VALUE, f"filter.countries: {name} has no data for {country}"
            )
    for affinity in flt.affinities or ():
        if affinity not in affinities:
            ctx.warnings.add(
                NO_DATA_FOR_FILTER_VALUE,
                f"filter.affinities: {name} has no data for affinity {affinity!r}",
            )


def check(ctx: RequestContext, title_id: str | None, interval: Interval, flt: Filter) -> None:
    """Every coverage check of one windowed metrics request of an entity of `title_id`."""
    check_window(ctx, interval)
    if title_id is not None:
        check_filter(ctx, title_id, flt)


__all__ = [
    "NO_DATA_FOR_FILTER_VALUE",
    "WINDOW_OUTSIDE_DATA",
    "WINDOW_PARTLY_OUTSIDE_DATA",
    "check",
    "check_filter",
    "check_window",
]
