"""Field execution without per-field overhead for plain leaf fields.

A metrics response is mostly leaves: a 180-day series is ~3,000 fields, ~2,700 of them
scalars read straight off a result object, and 50 assets' availability are 2,000 country
codes. graphql-core resolves each through the full field protocol (resolve info,
resolver wrappers, awaitable checks, value completion), which costs more than the backend
query at that size. For a field that Strawberry resolves as a plain attribute (no
resolver, no arguments) and whose type is a scalar or enum, or a list of them, this
execution context reads the attribute and serializes it directly. Anything else — and any
value whose completion is an error (null in a non-null field, a value the scalar rejects,
a missing attribute) — takes graphql-core's own path, so results and errors are
unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    is_leaf_type,
)
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

PLAIN_LEAF = "keyart_plain_leaf"  # GraphQLField.extensions key holding a PlainLeaf
_SLOW = object()  # "let graphql-core complete this field": a missing value or an error


@dataclass(frozen=True, slots=True)
class PlainLeaf:
    """How to answer one plain leaf field: the Python attribute, the leaf type, and
    whether the field (or, for a list of leaves, each item) may be null."""

    attribute: str
    leaf: GraphQLLeafType
    non_null: bool
    many: bool = False
    items_non_null: bool = False

    def complete(self, value: Any) -> Any:
        """The field's value as graphql-core would complete it, or _SLOW when completing
        it is an error that graphql-core must report."""
        if value is None:
            return _SLOW if self.non_null else None
        if not self.many:
            return self._leaf(value, self.non_null)
        if not isinstance(value, list | tuple):
            return _SLOW  # an iterator read here would be empty for graphql-core's path

        items = [self._leaf(item, self.items_non_null) for item in value]
        return _SLOW if _SLOW in items else items

    def _leaf(self, value: Any, non_null: bool) -> Any:
        if value is None:
            return _SLOW if non_null else None
        try:
            coerced = self.leaf.coerce_output_value(value)
        except Exception:  # graphql-core's own path reports it as a field error
            return _SLOW
        return _SLOW if coerced is None or coerced is Undefined else coerced


def mark_plain_leaves(schema: GraphQLSchema) -> int:
    """Annotate every plain leaf field of the schema's object types; returns how many."""
    marked = 0
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            strawberry_field = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(strawberry_field, StrawberryField):
                continue
            if not strawberry_field.is_basic_field or field.args:
                continue
            if not getattr(field.resolve, "_is_default", False):
                continue  # a field extension or exception handler wraps it
            plain = _plain_leaf(strawberry_field.python_name, field.type)
            if plain is None:
                continue
            field.extensions = {**(field.extensions or {}), PLAIN_LEAF: plain}
            marked += 1
    return marked


def _plain_leaf(attribute: str, of_type: GraphQLOutputType) -> PlainLeaf | None:
    """The PlainLeaf of a leaf or list-of-leaves type; None for any other type."""
    non_null = isinstance(of_type, GraphQLNonNull)
    inner = of_type.of_type if isinstance(of_type, GraphQLNonNull) else of_type
    if is_leaf_type(inner):
        return PlainLeaf(attribute, inner, non_null)
    if not isinstance(inner, GraphQLList):
        return None
    items_non_null = isinstance(inner.of_type, GraphQLNonNull)
    item = inner.of_type.of_type if isinstance(inner.of_type, GraphQLNonNull) else inner.of_type
    if not is_leaf_type(item):
        return None
    return PlainLeaf(attribute, item, non_null, True, items_non_null)


def _probe(*_args: Any, **_kwargs: Any) -> None:
    """A resolver no field has, to ask the middleware whether it wraps resolvers."""


class PlainLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, answering plain leaf fields directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a field middleware (an extension's resolve hook) must see every field
        manager = self.middleware_manager
        self._plain = manager is None or manager.get_field_resolver(_probe) is _probe

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        field_def = parent_type.fields.get(node.name.value)
        plain = None if field_def is None else field_def.extensions.get(PLAIN_LEAF)
        if plain is not None and self._plain and not node.arguments:
            value = getattr(source, plain.attribute, _SLOW)
            if value is not _SLOW:
                completed = plain.complete(value)
                if completed is not _SLOW:
                    return completed
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


__all__ = ["PLAIN_LEAF", "PlainLeaf", "PlainLeafExecutionContext", "mark_plain_leaves"]
