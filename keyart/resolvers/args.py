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


def _values(name: str, values: Iterable[str] | None) -> tuple[str, ...] | None:
    if given(values) is None:
        return None
    assert values is not None
    out = tuple(values)
    if len(out) > MAX_FILTER_VALUES:
        raise BadUserInput(f"filter.{name} lists {len(out)} values; at most {MAX_FILTER_VALUES}")
    return out


def metric_filter(
    countries: Iterable[str] | None = None,
    affinities: Iterable[str] | None = None,
    asset_types: Iterable[str] | None = None,
) -> Filter:
    """The IR filter of a `MetricFilter`; country codes must be two upper-case letters.
    An empty list matches nothing; an absent one is unconstrained."""
    country_codes = _values("countries", countries)
    for code in country_codes or ():
        if not COUNTRY_CODE.match(code):
            raise BadUserInput(
                f"filter.countries: {code!r} is not an ISO 3166-1 alpha-2 code "
                "(two upper-case letters)"
            )
    return Filter(
        countries=country_codes,
        affinities=_values("affinities", affinities),
        asset_types=_values("assetTypes", asset_types),
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


__all__ = [
    "COUNTRY_CODE",
    "MAX_PAGE_SIZE",
    "given",
    "metric_filter",
    "page_size",
    "top_n",
    "window",
]
