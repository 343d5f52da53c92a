"""The printed SDL is committed, and every type and field of the DESIGN §6 contract exists
with exactly the contract's type (extensions allowed, nothing removed or renamed)."""

from __future__ import annotations

import graphql
import pytest

from keyart.schema import SDL_PATH, build_schema, sdl

# DESIGN §6, verbatim (the fixed core of the API)
CONTRACT = """
scalar Date
scalar Long
input DateRange { start: Date!  end: Date! }
input MetricFilter { countries: [String!]  affinities: [String!]  assetTypes: [AssetType!] }
enum AssetType { ARTWORK VIDEO }
enum TitleKind { SERIES FILM LIVE GAME }
enum Granularity { DAY WEEK MONTH }

type Estimate { value: Float!  lower: Float!  upper: Float! }
type Metrics {
  impressions: Long!  uniqueImpressions: Estimate!
  qualifiedPlays: Long!  uniquePlayers: Estimate!  takeRate: Estimate
  playSeconds: Long!  engagedPlays: Long!  authenticity: Float
}
type MetricPoint { date: Date!  metrics: Metrics! }
type AffinityMetrics { affinity: String!  metrics: Metrics!  lift: Float }
type CountryMetrics { country: String!  metrics: Metrics! }
type Availability { countries: [String!]!  countryCount: Int! }
type FilterOptions { countries: [String!]!  affinities: [String!]! }

type Asset {
  id: ID!  title: Title!  type: AssetType!  name: String!  tags: [String!]!  mediaUrl: String
  allTime: Metrics!
  availability: Availability!
  metrics(window: DateRange!, filter: MetricFilter): Metrics!
  timeseries(window: DateRange!, granularity: Granularity! = DAY, filter: MetricFilter):
    [MetricPoint!]!
  byAffinity(window: DateRange!, filter: MetricFilter, top: Int): [AffinityMetrics!]!
  byCountry(window: DateRange!, filter: MetricFilter, top: Int): [CountryMetrics!]!
}
type Title {
  id: ID!  name: String!  kind: TitleKind!  genres: [String!]!  launchDate: Date
  assets(type: AssetType): [Asset!]!
  metrics(window: DateRange!, filter: MetricFilter): Metrics!
  availability: Availability!
  filterOptions: FilterOptions!
}
type TitleEdge { cursor: String!  node: Title! }
type PageInfo { hasNextPage: Boolean!  endCursor: String }
type TitleConnection { edges: [TitleEdge!]!  pageInfo: PageInfo!  totalCount: Int! }
type Query {
  title(id: ID!): Title
  titles(first: Int = 50, after: String, search: String): TitleConnection!
  asset(id: ID!): Asset
  assets(ids: [ID!]!): [Asset]!
  affinities: [String!]!
  dataVersion: String!
}
"""


def test_committed_sdl_matches_the_schema() -> None:
    assert SDL_PATH.read_text() == sdl(), (
        "keyart/schema/schema.graphql is stale: regenerate it with "
        "`python -c 'from keyart.schema import sdl, SDL_PATH; SDL_PATH.write_text(sdl())'`"
    )


def _ours() -> graphql.GraphQLSchema:
    # the committed SDL, rebuilt: what clients see
    return graphql.build_schema(SDL_PATH.read_text())


def _contract_types() -> list[str]:
    contract = graphql.build_schema(CONTRACT)
    return [name for name in contract.type_map if not name.startswith("__")]


def _default(arg: graphql.GraphQLArgument) -> str | None:
    node = arg.ast_node.default_value if arg.ast_node is not None else None
    return None if node is None else graphql.print_ast(node)


def differences(
    contract: graphql.GraphQLSchema, ours: graphql.GraphQLSchema, name: str
) -> list[str]:
    """How `ours` departs from the contract for one type (empty when it honours it)."""
    want = contract.type_map[name]
    got = ours.type_map.get(name)
    if got is None:
        return [f"type {name} is missing"]
    if type(got) is not type(want):
        return [f"{name} is a {type(got).__name__}, not {type(want).__name__}"]
    problems: list[str] = []
    if isinstance(want, graphql.GraphQLEnumType) and isinstance(got, graphql.GraphQLEnumType):
        problems += [f"{name}.{v} missing" for v in set(want.values) - set(got.values)]
    if isinstance(want, graphql.GraphQLInputObjectType) and isinstance(
        got, graphql.GraphQLInputObjectType
    ):
        for field_name, field in want.fields.items():
            if field_name not in got.fields:
                problems.append(f"{name}.{field_name} is missing")
            elif str(got.fields[field_name].type) != str(field.type):
                problems.append(f"{name}.{field_name} has type {got.fields[field_name].type}")
        required = {n for n, f in got.fields.items() if graphql.is_required_input_field(f)}
        problems += [
            f"{name}.{n} is required but not in the contract" for n in required - set(want.fields)
        ]
    if isinstance(want, graphql.GraphQLObjectType) and isinstance(got, graphql.GraphQLObjectType):
        for field_name, field in want.fields.items():
            ours_field = got.fields.get(field_name)
            if ours_field is None:
                problems.append(f"{name}.{field_name} is missing")
                continue
            if str(ours_field.type) != str(field.type):
                problems.append(f"{name}.{field_name} has type {ours_field.type}")
            for arg_name, arg in field.args.items():
                ours_arg = ours_field.args.get(arg_name)
                if ours_arg is None:
                    problems.append(f"{name}.{field_name}({arg_name}) is missing")
                elif str(ours_arg.type) != str(arg.type):
                    problems.append(f"{name}.{field_name}({arg_name}) has type {ours_arg.type}")
                elif _default(ours_arg) != _default(arg):
                    problems.append(f"{name}.{field_name}({arg_name}) default differs")
            for arg_name, arg in ours_field.args.items():
                if arg_name not in field.args and graphql.is_required_argument(arg):
                    problems.append(f"{name}.{field_name}({arg_name}) is required, not in contract")
    return problems


@pytest.mark.parametrize("name", _contract_types())
def test_contract_type_exists_with_its_fields(name: str) -> None:
    assert differences(graphql.build_schema(CONTRACT), _ours(), name) == []


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("countryCount: Int!", "count: Int!", "Availability"),
        ("takeRate: Estimate", "takeRate: Estimate!", "Metrics"),
        ("granularity: Granularity! = DAY", "granularity: Granularity! = WEEK", "Asset"),
        ("title(id: ID!): Title", "title(id: String!): Title", "Query"),
        ("enum TitleKind { SERIES FILM LIVE GAME }", "enum TitleKind { SERIES FILM }", "TitleKind"),
    ],
)
def test_the_comparison_catches_a_broken_schema(old: str, new: str, name: str) -> None:
    assert old in CONTRACT
    broken = graphql.build_schema(CONTRACT.replace(old, new))
    assert differences(graphql.build_schema(CONTRACT), broken, name) != []


def test_schema_builds_with_custom_limits() -> None:
    from keyart.config import ApiSettings

    schema = build_schema(ApiSettings(max_query_depth=3, max_aliases=2, max_query_tokens=50))
    assert "Query" in schema.as_str()
