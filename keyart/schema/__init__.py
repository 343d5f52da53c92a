"""The GraphQL schema (DESIGN §6), composed from one module per domain."""

from __future__ import annotations

import logging
from pathlib import Path

from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.printer import print_schema
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from keyart.config import ApiSettings
from keyart.schema.alerts import AlertMutation, Subscription
from keyart.schema.cost import QueryCostLimiter, fanout_of_context
from keyart.schema.errors import KeyartSchema
from keyart.schema.execution import (
    PlainFieldExecutionContext,
    mark_plain_fields,
    untested_versions,
)
from keyart.schema.extensions import (
    BoundedParserCache,
    BoundedValidationCache,
    OperationMetrics,
    ResponseWarnings,
)
from keyart.schema.names import MemoNameConverter
from keyart.schema.plain_inputs import mark_plain_inputs
from keyart.schema.query import Query
from keyart.schema.rollout import RoutingMutation
from keyart.schema.scalars import SCALAR_MAP

log = logging.getLogger(__name__)
SDL_PATH = Path(__file__).with_name("schema.graphql")
# every change the API accepts (admin keys only): alert rules and routing rules
Mutation = merge_types("Mutation", (AlertMutation, RoutingMutation))


def build_schema(settings: ApiSettings | None = None, *, plain_fields: bool = True) -> KeyartSchema:
    """The executable schema with the limits and caches of `settings`; `plain_fields`
    answers plain fields without graphql-core's per-field protocol (execution.py) and
    builds inputs made of leaves without Strawberry's conversion (plain_inputs.py) when the
    installed graphql-core and Strawberry are versions it was tested with, else the schema
    falls back to stock execution with a warning (`schema.plain_fields` says which)."""
    s = settings if settings is not None else ApiSettings()
    if plain_fields:
        untested = untested_versions()
        if untested:
            log.warning(
                "plain-field execution is off (stock graphql-core execution answers every "
                "field): %s outside the versions it was tested with",
                ", ".join(untested),
            )
            plain_fields = False
    schema = _schema(s, plain_fields)
    if plain_fields:
        mark_plain_fields(schema._schema)
        converter = schema.schema_converter
        mark_plain_inputs(
            [concrete.definition for concrete in converter.type_map.values()],
            schema.config,
            converter.scalar_registry,
        )
    schema.plain_fields = plain_fields
    return schema


def _schema(s: ApiSettings, plain_fields: bool) -> KeyartSchema:
    depth_limiter = QueryDepthLimiter(max_depth=s.max_query_depth)
    alias_limiter = MaxAliasesLimiter(max_alias_count=s.max_aliases)
    no_introspection = None if s.introspection else DisableIntrospection()
    return KeyartSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALAR_MAP, name_converter=MemoNameConverter()),
        extensions=[
            OperationMetrics,
            ResponseWarnings,
            lambda: MaxTokensLimiter(max_token_count=s.max_query_tokens),
            lambda: BoundedParserCache(s.parser_cache_size, s.parser_cache_max_chars),
            # the rule classes are built once here so the validation cache can hit
            lambda: depth_limiter,
            lambda: alias_limiter,
            *([] if no_introspection is None else [lambda: no_introspection]),
            lambda: BoundedValidationCache(s.parser_cache_size, s.parser_cache_max_chars),
            # after validation, before execution: nothing reaches a backend when refused
            lambda: QueryCostLimiter(s.max_query_cost, s.max_window_days, fanout_of_context),
        ],
        execution_context_class=PlainFieldExecutionContext if plain_fields else None,
    )


def sdl() -> str:
    """The schema in GraphQL SDL, as committed in schema.graphql."""
    return print_schema(build_schema()) + "\n"


__all__ = ["SDL_PATH", "KeyartSchema", "build_schema", "sdl"]
