"""Validation of request arguments and their translation into the query IR."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from strawberry import UNSET

from keyart.errors import BadUserInput
from keyart.query import Filter, Interval

COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
MAX_PAGE_SIZE = 500
MAX_FILTER_VALUES = 500


def given(value: Any) -> Any:
    """The value of an optional argument, None when it was left out (Strawberry's UNSET)."""
    return None if value is None or value is UNSET else value


def window(start: date, end: date, max_days: int) -> Interval:
    """The inclusive interval of a `DateRange`, at most `max_days` long."""
    if end < start:
        raise BadUserInput(f"window end {end.isoformat()} is before its start {start.isoformat()}")
    interval = Interval(start, end)
    if interval.days > max_days:
        raise BadUserInput(
            f"window {start.isoformat()}..{end.isoformat()} spans {interval.days} days; "
            f"the maximum is {max_days}"
        )
    return interval


def values(name: str, items: Iterable[str] | None) -> tuple[str, ...] | None:
    """A list argument named `name`: None when absent; BadUserInput when it is empty (an
    empty list would silently match nothing, or everything) or too long."""
    if given(items) is None:
        return None
    assert items is not None
    out = tuple(items)
    if not out:
        raise BadUserInput(f"{name} is an empty list; leave it out or list at least one value")
    if len(out) > MAX_FILTER_VALUES:
        raise BadUserInput(f"{name} lists {len(out)} values; at most {MAX_FILTER_VALUES}")
    return out


def country_codes(name: str, codes: Iterable[str] | None) -> tuple[str, ...] | None:
    """A list of countries named `name`; each must be an ISO 3166-1 alpha-2 code (two
    upper-case letters)."""
    out = values(name, codes)
    for code in out or ():
        if not COUNTRY_CODE.match(code):
            raise BadUserInput(
                f"{name}: {code!r} is not an ISO 3166-1 alpha-2 code (two upper-case letters)"
            )
    return out


def metric_filter(
    countries: Iterable[str] | None = None,
    affinities: Iterable[str] | None = None,
    asset_types: Iterable[str] | None = None,
    *,
    exclude_countries: Iterable[str] | None = None,
    affinities_all: Iterable[str] | None = None,
    exclude_affinities: Iterable[str] | None = None,
) -> Filter:
    """The IR filter of a `MetricFilter`: every field combines with AND; an absent field
    is unconstrained, an empty list is BadUserInput naming it; country codes must be two
    upper-case letters."""
    return Filter(
        countries=country_codes("filter.countries", countries),
        affinities=values("filter.affinities", affinities),
        asset_types=values("filter.assetTypes", asset_types),
        exclude_countries=country_codes("filter.excludeCountries", exclude_countries),
        affinities_all=values("filter.affinitiesAll", affinities_all),
        exclude_affinities=values("filter.excludeAffinities", exclude_affinities),
    )


def top_n(top: int | None) -> int | None:
    """How many breakdown groups to keep (None keeps all)."""
    top = given(top)
    if top is not None and top < 0:
        raise BadUserInput(f"top must be >= 0, got {top}")
    return top


def page_size(first: int | None) -> int:
    """How many titles a page holds."""
    first = given(first)
    if first is None:
        return 50
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"first must be within 0..{MAX_PAGE_SIZE}, got {first}")
    return first


def bounded(name: str, value: int | None, default: int, low: int, high: int | None) -> int:
    """An integer argument within low..high (no upper limit when high is None)."""
    value = given(value)
    if value is None:
        return default
    if value < low or (high is not None and value > high):
        limit = f"within {low}..{high}" if high is not None else f">= {low}"
        raise BadUserInput(f"{name} must be {limit}, got {value}")
    return int(value)


__all__ = [
    "COUNTRY_CODE",
    "MAX_PAGE_SIZE",
    "bounded",
    "country_codes",
    "given",
    "metric_filter",
    "page_size",
    "top_n",
    "values",
    "window",
]
