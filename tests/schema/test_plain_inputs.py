"""Plain input builders give exactly what Strawberry's own conversion gives."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import strawberry
from strawberry.relay.types import GlobalID
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryOptional, get_object_definition

from keyart.schema import build_schema
from keyart.schema.enums import AssetType
from keyart.schema.errors import KeyartSchema
from keyart.schema.inputs import DateRange, MetricFilter
from keyart.schema.plain_inputs import mark_plain_inputs, plain_builder


@pytest.fixture(scope="module")
def schema() -> KeyartSchema:
    return build_schema()


def _convert(schema: KeyartSchema, value: Any, type_: Any, plain: bool) -> Any:
    converter = schema.schema_converter
    definition = get_object_definition(type_, strict=True)
    builder = definition.from_input
    if not plain:
        definition.from_input = None  # Strawberry's field-by-field conversion
    try:
        return convert_argument(
            value, StrawberryOptional(type_), converter.scalar_registry, schema.config
        )
    finally:
        definition.from_input = builder


FILTERS = [
    {},
    {"countries": ["US"]},
    {"countries": None, "affinities": []},
    {
        "countries": ["US", "BR"],
        "affinities": ["Character Drama fans"],
        "assetTypes": [AssetType.ARTWORK, AssetType.VIDEO],
        "excludeCountries": ["FR"],
        "affinitiesAll": ["Pop Culture enthusiasts", "Horror fans"],
        "excludeAffinities": ["Kids"],
    },
]


def test_the_windowed_inputs_are_plain(schema: KeyartSchema) -> None:
    assert get_object_definition(DateRange, strict=True).from_input is not None
    assert get_object_definition(MetricFilter, strict=True).from_input is not None


@pytest.mark.parametrize("value", FILTERS)
def test_metric_filter_built_as_strawberry_builds_it(schema: KeyartSchema, value: Any) -> None:
    plain = _convert(schema, value, MetricFilter, plain=True)
    stock = _convert(schema, value, MetricFilter, plain=False)
    assert isinstance(plain, MetricFilter)
    assert plain == stock
    assert _convert(schema, None, MetricFilter, plain=True) is None


def test_date_range_built_as_strawberry_builds_it(schema: KeyartSchema) -> None:
    value = {"start": date(2026, 6, 1), "end": date(2026, 6, 30)}
    plain = _convert(schema, value, DateRange, plain=True)
    assert plain == _convert(schema, value, DateRange, plain=False)
    assert (plain.start, plain.end) == (date(2026, 6, 1), date(2026, 6, 30))


def test_lists_are_copied(schema: KeyartSchema) -> None:
    """graphql-core hands every request the same default list: a value built from it must
    not share it."""
    countries = ["US"]
    built = _convert(schema, {"countries": countries}, MetricFilter, plain=True)
    built.countries.append("BR")
    assert countries == ["US"]


@strawberry.input
class _Nested:
    window: DateRange
    note: str | None = None


@strawberry.input
class _WithGlobalId:
    id: GlobalID


@strawberry.input
class _Leaves:
    name: str
    tags: list[str | None] | None = None
    kind: AssetType | None = None
    limit: int = 3


def test_only_inputs_made_of_leaves_are_marked(schema: KeyartSchema) -> None:
    config, registry = schema.config, schema.schema_converter.scalar_registry
    definitions = [get_object_definition(t, strict=True) for t in (_Nested, _WithGlobalId)]
    assert mark_plain_inputs(definitions, config, registry) == 0
    assert all(d.from_input is None for d in definitions)
    build = plain_builder(get_object_definition(_Leaves, strict=True), config, registry)
    assert build is not None
    for value in (
        {"name": "x", "tags": ["a", None]},
        {"name": "y", "limit": 5, "kind": AssetType.VIDEO, "tags": None},
        {},  # a field without a default, omitted: None, as Strawberry gives it
    ):
        stock = convert_argument(value, _Leaves, registry, config)  # _Leaves is not marked
        assert build(_Leaves, value, None) == stock  # type: ignore[arg-type]
