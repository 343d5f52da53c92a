"""Field execution without per-field overhead for plain fields.

A metrics response is mostly leaves: a 180-day series is ~3,000 fields, ~2,700 of them
scalars read straight off a result object, and 50 assets' availability are 2,000 country
codes. graphql-core resolves each through the full field protocol (resolve info,
resolver wrappers, awaitable checks, value completion), which costs more than the backend
query at that size. A field is *plain* when Strawberry resolves it as a plain attribute
(no resolver, no arguments) and its type is a scalar or enum, a list of them, or an object
type without an `is_type_of` check. This execution context reads a plain leaf and
serializes it directly, and completes an object whose selected fields are all plain
(`metrics { uniquePlayers { value lower upper } ... }`) from a plan built once per
selection, without graphql-core visiting its fields. Anything else — and any value whose
completion is an error (null in a non-null field, a value the scalar rejects, a missing
attribute) — takes graphql-core's own path for the field or the whole object, so results
and errors are unchanged.

It overrides graphql-core `ExecutionContext` methods and reads Strawberry field internals,
so it is a guarded plug-in: `untested_versions` names installed versions outside those it
was tested with (TESTED_VERSIONS, the same bounds as pyproject.toml), and the schema then
falls back to stock execution (keyart/schema/__init__.py).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    is_leaf_type,
)
from graphql.pyutils import Undefined
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# the graphql-core and Strawberry versions this module was tested with; pyproject.toml
# declares the same bounds (tests/schema/test_execution.py checks they agree)
TESTED_VERSIONS = {"graphql-core": ">=3.3,<3.4", "strawberry-graphql": ">=0.341,<0.342"}
PLAIN_LEAF = "keyart_plain_leaf"  # GraphQLField.extensions key holding a PlainLeaf
PLAIN_OBJECT = "keyart_plain_object"  # GraphQLField.extensions key holding a PlainObject
_SLOW = object()  # "let graphql-core complete this field": a missing value or an error


def untested_versions(
    installed: Callable[[str], str] = importlib.metadata.version,
) -> list[str]:
    """Each package of TESTED_VERSIONS installed in a version outside its tested range (or
    not installed), as "name version (tested: range)"; empty when the plug-in may run."""
    found = []
    for name, tested in TESTED_VERSIONS.items():
        try:
            version = installed(name)
            inside = Version(version) in SpecifierSet(tested)
        except (importlib.metadata.PackageNotFoundError, InvalidVersion):
            version, inside = "unknown", False
        if not inside:
            found.append(f"{name} {version} (tested: {tested})")
    return found


@dataclass(frozen=True, slots=True)
class PlainLeaf:
    """How to answer one plain leaf field: the Python attribute, the leaf type, and
    whether the field (or, for a list of leaves, each item) may be null."""

    attribute: str
    leaf: GraphQLLeafType
    non_null: bool
    many: bool = False
    items_non_null: bool = False
    # the Python type the leaf type serializes to itself (str for String and ID), so a
    # value of exactly that type needs no serializer call
    unchanged: type | None = None

    def complete(self, value: Any) -> Any:
        """The field's value as graphql-core would complete it, or _SLOW when completing
        it is an error that graphql-core must report."""
        if value is None:
            return _SLOW if self.non_null else None
        if not self.many:
            return self._leaf(value, self.non_null)
        if not isinstance(value, list | tuple):
            return _SLOW  # an iterator read here would be empty for graphql-core's path
        unchanged = self.unchanged
        if unchanged is not None and all(type(item) is unchanged for item in value):
            return list(value)
        items = [self._leaf(item, self.items_non_null) for item in value]
        return _SLOW if _SLOW in items else items

    def _leaf(self, value: Any, non_null: bool) -> Any:
        if value is None:
            return _SLOW if non_null else None
        if type(value) is self.unchanged:
            return value
        try:
            coerced = self.leaf.coerce_output_value(value)
        except Exception:  # graphql-core's own path reports it as a field error
            return _SLOW
        return _SLOW if coerced is None or coerced is Undefined else coerced


@dataclass(frozen=True, slots=True)
class PlainObject:
    """A plain attribute field of an object type: the attribute, the type, nullability."""

    attribute: str
    of_type: GraphQLObjectType
    non_null: bool


# One step of a plan: (response name, the field, or the type name for `__typename`, and
# the plan of a plain object's own selection)
_Step = tuple[str, PlainLeaf | PlainObject | str, "_Plan | None"]
_Plan = tuple[_Step, ...]


def mark_plain_fields(schema: GraphQLSchema) -> int:
    """Annotate every plain leaf and plain object field of the schema's object types;
    returns how many."""
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
            attribute = strawberry_field.python_name
            plain = _plain_leaf(attribute, field.type) or _plain_object(attribute, field.type)
            if plain is None:
                continue
            key = PLAIN_LEAF if isinstance(plain, PlainLeaf) else PLAIN_OBJECT
            field.extensions = {**(field.extensions or {}), key: plain}
            marked += 1
    return marked


def _non_null(of_type: Any) -> tuple[Any, bool]:
    """The type inside a NonNull wrapper, and whether there was one."""
    if isinstance(of_type, GraphQLNonNull):
        return of_type.of_type, True
    return of_type, False


def _plain_object(attribute: str, of_type: GraphQLOutputType) -> PlainObject | None:
    """The PlainObject of an object type that completes without an `is_type_of` check."""
    inner, non_null = _non_null(of_type)
    if not isinstance(inner, GraphQLObjectType) or inner.is_type_of is not None:
        return None
    return PlainObject(attribute, inner, non_null)


def _plain_leaf(attribute: str, of_type: GraphQLOutputType) -> PlainLeaf | None:
    """The PlainLeaf of a leaf or list-of-leaves type; None for any other type."""
    inner, non_null = _non_null(of_type)
    if is_leaf_type(inner):
        return PlainLeaf(attribute, inner, non_null, unchanged=_unchanged(inner))
    if not isinstance(inner, GraphQLList):
        return None
    item, items_non_null = _non_null(inner.of_type)
    if not is_leaf_type(item):
        return None
    return PlainLeaf(attribute, item, non_null, True, items_non_null, _unchanged(item))


def _unchanged(leaf: GraphQLLeafType) -> type | None:
    """str for the built-in String and ID scalars, whose serializers return a str as is."""
    return str if leaf is GraphQLString or leaf is GraphQLID else None


def _probe(*_args: Any, **_kwargs: Any) -> None:
    """A resolver no field has, to ask the middleware whether it wraps resolvers."""


class PlainFieldExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, answering plain fields directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a field middleware (an extension's resolve hook) must see every field
        manager = self.middleware_manager
        self._plain = manager is None or manager.get_field_resolver(_probe) is _probe
        # plans by id of graphql-core's memoized grouped field set, kept with the set so
        # the id cannot be reused while this request runs
        self._plans: dict[int, tuple[Any, _Plan | None]] = {}

    def execute_collected_subfields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: Any,
        new_defer_usages: Any,
        delivery_group_map: Any,
    ) -> Any:
        if self._plain and not new_defer_usages:
            plan = self._plan(parent_type, grouped_field_set)
            if plan is not None:
                completed = self._complete(plan, source_value)
                if completed is not _SLOW:
                    return completed
        # by keyword: a parameter graphql-core renames fails here (and in the tests)
        return super().execute_collected_subfields(
            parent_type=parent_type,
            source_value=source_value,
            path=path,
            grouped_field_set=grouped_field_set,
            new_defer_usages=new_defer_usages,
            delivery_group_map=delivery_group_map,
        )

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Plan | None:
        """How to complete an object of `parent_type` with this selection, or None when
        a selected field is not plain."""
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None:
            return cached[1]
        plan = self._build_plan(parent_type, grouped_field_set)
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _build_plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Plan | None:
        steps: list[_Step] = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            name = node.name.value
            if name == "__typename":
                steps.append((response_name, parent_type.name, None))
                continue
            field_def = parent_type.fields.get(name)
            if field_def is None or node.arguments:
                return None
            extensions = field_def.extensions
            leaf = extensions.get(PLAIN_LEAF)
            if leaf is not None:
                steps.append((response_name, leaf, None))
                continue
            obj = extensions.get(PLAIN_OBJECT)
            if obj is None:
                return None
            sub_fields, defer_usages, _ = self.collect_subfields(
                return_type=obj.of_type, field_details_list=field_details_list
            )
            sub_plan = None if defer_usages else self._plan(obj.of_type, sub_fields)
            if sub_plan is None:
                return None
            steps.append((response_name, obj, sub_plan))
        return tuple(steps)

    def _complete(self, plan: _Plan, source: Any) -> Any:
        """The completed object, or _SLOW when a field needs graphql-core's path."""
        result: dict[str, Any] = {}
        for response_name, field, sub_plan in plan:
            if isinstance(field, str):
                result[response_name] = field
                continue
            value = getattr(source, field.attribute, _SLOW)
            if value is _SLOW:
                return _SLOW
            if sub_plan is None:
                completed = field.complete(value)  # type: ignore[union-attr]
            elif value is None:
                completed = _SLOW if field.non_null else None
            elif self.is_awaitable(value):
                return _SLOW
            else:
                completed = self._complete(sub_plan, value)
            if completed is _SLOW:
                return _SLOW
            result[response_name] = completed
        return result

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
            parent_type=parent_type,
            source=source,
            field_details_list=field_details_list,
            path=path,
            position_context=position_context,
        )


__all__ = [
    "PLAIN_LEAF",
    "PLAIN_OBJECT",
    "TESTED_VERSIONS",
    "PlainFieldExecutionContext",
    "PlainLeaf",
    "PlainObject",
    "mark_plain_fields",
    "untested_versions",
]
