"""Input values built without Strawberry's field-by-field conversion, for input types
made of leaves.

Strawberry turns an input object argument into its Python class through its generic
`convert_argument`, which walks every field of the type and its annotations: ~13 us for a
`DateRange` and ~18 us for a `MetricFilter`, and a title page converts both once per asset
(10 assets: ~0.3 ms of the event loop per request, about 5 % of an uncached answer). An
input type whose fields are all scalars or enums, lists of them, or optional forms of
these needs nothing of that walk: graphql-core has coerced the values already, and
Strawberry only copies lists (graphql-core hands every request the same default list). For
each such type `mark_plain_inputs` installs a Strawberry `from_input` builder that does
just that; any other input type (a nested input, a GlobalID, a `Maybe`) keeps Strawberry's
conversion.

`from_input` is a hook on Strawberry's type definitions, so this runs with the plain-field
execution plug-in (execution.py), under the same tested-versions guard. The definitions
belong to the input classes, which every schema of the process shares: once set, the hook
also serves a stock-execution schema built later, and gives it what Strawberry would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.unset import UNSET

Registry = Mapping[object, Any]
FromInput = Callable[[type, Mapping[str, Any], InputContext], Any]


def mark_plain_inputs(definitions: list[Any], config: StrawberryConfig, registry: Registry) -> int:
    """Give every plain input type among the schema's `definitions` a `from_input`
    builder; the number of types marked (a type marked before is left as it is)."""
    marked = 0
    for definition in definitions:
        if not isinstance(definition, StrawberryObjectDefinition) or not definition.is_input:
            continue
        if definition.from_input is not None:
            continue
        builder = plain_builder(definition, config, registry)
        if builder is not None:
            definition.from_input = builder
            marked += 1
    return marked


def plain_builder(
    definition: StrawberryObjectDefinition, config: StrawberryConfig, registry: Registry
) -> FromInput | None:
    """The builder of a plain input type, or None when a field needs Strawberry's
    conversion. It gives what `convert_argument` gives: omitted fields without a default
    are None, omitted fields with one keep it, nulls stay null, lists are copied."""
    fields: list[tuple[str, str, bool]] = []  # (GraphQL name, Python name, copy as a list)
    absent: dict[str, None] = {}
    for field in definition.fields:
        is_list = _plain_kind(field.resolve_type(type_definition=definition), registry)
        if is_list is None:
            return None
        fields.append((config.name_converter.from_field(field), field.python_name, is_list))
        if field.default_value is MISSING and field.default_factory is MISSING:
            absent[field.python_name] = None

    def build(cls: type, value: Mapping[str, Any], _context: InputContext) -> Any:
        kwargs: dict[str, Any] = dict(absent)
        for graphql_name, python_name, is_list in fields:
            if graphql_name in value:
                item = value[graphql_name]
                if is_list and item is not None and item is not UNSET:
                    item = list(item)
                kwargs[python_name] = item
        return cls(**kwargs)

    return build


def _plain_kind(type_: Any, registry: Registry) -> bool | None:
    """False for a leaf (or an optional one), True for a list of leaves (or optional forms),
    None for anything Strawberry must convert."""
    if isinstance(type_, StrawberryMaybe):  # Some(...) wrapping: Strawberry's own
        return None
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    if isinstance(type_, StrawberryList):
        item = type_.of_type
        if isinstance(item, StrawberryOptional) and not isinstance(item, StrawberryMaybe):
            item = item.of_type
        return True if _is_leaf(item, registry) else None
    return False if _is_leaf(type_, registry) else None


def _is_leaf(type_: Any, registry: Registry) -> bool:
    if type_ is GlobalID:  # decoded from its text by Strawberry
        return False
    if isinstance(type_, StrawberryEnumDefinition) or has_enum_definition(type_):
        return True
    return bool(is_scalar(type_, registry))


__all__ = ["mark_plain_inputs", "plain_builder"]
