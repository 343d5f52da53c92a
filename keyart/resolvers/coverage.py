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


# the filter's country and affinity lists, by their GraphQL argument names
_COUNTRY_FIELDS = (("countries", "countries"), ("exclude_countries", "excludeCountries"))
_AFFINITY_FIELDS = (
    ("affinities", "affinities"),
    ("affinities_all", "affinitiesAll"),
    ("exclude_affinities", "excludeAffinities"),
)


def _unknown_values(
    ctx: RequestContext, flt: Filter, countries: set[str], affinities: set[str], where: str
) -> None:
    """Warn for each country or affinity of `flt` outside the known sets of `where`."""
    for name, argument in _COUNTRY_FIELDS:
        for country in getattr(flt, name) or ():
            if country not in countries:
                ctx.warnings.add(
                    NO_DATA_FOR_FILTER_VALUE,
                    f"filter.{argument}: {where} has no data for {country}",
                )
    for name, argument in _AFFINITY_FIELDS:
        for affinity in getattr(flt, name) or ():
            if affinity not in affinities:
                ctx.warnings.add(
                    NO_DATA_FOR_FILTER_VALUE,
                    f"filter.{argument}: {where} has no data for affinity {affinity!r}",
                )


def _names_values(flt: Filter) -> bool:
    return any(getattr(flt, n) for n, _ in _COUNTRY_FIELDS + _AFFINITY_FIELDS)


def check_filter(ctx: RequestContext, title_id: str, flt: Filter) -> None:
    """Warn for each country or affinity of a filter that the title has no data for."""
    if not _names_values(flt):
        return
    snapshot = ctx.snapshot
    options = snapshot.title_filter_options.get(title_id)
    countries = set(options.countries) if options is not None else set()
    affinities = set(options.affinities) if options is not None else set()
    title = snapshot.titles.get(title_id)
    name = f"title {title_id}" if title is None else f"title {title_id} ({title.name})"
    _unknown_values(ctx, flt, countries, affinities, name)


def check_catalog(ctx: RequestContext, interval: Interval, flt: Filter) -> None:
    """The coverage checks of a question across the catalog: the window, and each filter
    country or affinity that no title has data for (it matches nothing)."""
    check_window(ctx, interval)
    if not _names_values(flt):
        return
    snapshot = ctx.snapshot
    countries: set[str] = set()
    for options in snapshot.title_filter_options.values():
        countries.update(options.countries)
    _unknown_values(ctx, flt, countries, set(snapshot.affinities), "the catalog")


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
    "check_catalog",
    "check_filter",
    "check_window",
]
