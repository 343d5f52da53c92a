"""Plain fields answered directly give exactly graphql-core's answers and errors."""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from keyart.schema import build_schema
from keyart.schema.execution import (
    PLAIN_LEAF,
    PLAIN_OBJECT,
    PlainFieldExecutionContext,
    mark_plain_fields,
)
from tests.e2e.harness import api, gql
from tests.truth import Truth, truth_of

# ---------------------------------------------------------------- the product schema

FRAGMENT = """fragment M on Metrics { impressions qualifiedPlays playSeconds engagedPlays
  authenticity uniqueImpressions { value lower upper } uniquePlayers { value lower upper }
  takeRate { value lower upper } }"""

QUERIES = {
    "title page": f"""query($ids: [ID!]!, $w: DateRange!, $f: MetricFilter) {{
        assets(ids: $ids) {{ id name type mediaUrl
          metrics(window: $w, filter: $f) {{ ...M }} }} }} {FRAGMENT}""",
    "breakdowns and series": f"""query($id: ID!, $w: DateRange!) {{ asset(id: $id) {{
        byAffinity(window: $w) {{ affinity lift metrics {{ ...M }} }}
        byCountry(window: $w, top: 3) {{ country metrics {{ ...M }} }}
        daily: timeseries(window: $w) {{ date metrics {{ ...M }} }}
        weekly: timeseries(window: $w, granularity: WEEK) {{ date metrics {{ impressions }} }}
        }} }} {FRAGMENT}""",
    "snapshot fields": f"""query($ids: [ID!]!) {{ assets(ids: $ids) {{
        id allTime {{ ...M }} availability {{ countries countryCount }}
        title {{ id name kind launchDate filterOptions {{ countries affinities }} }} }}
        titles(first: 3) {{ totalCount pageInfo {{ hasNextPage endCursor }}
          edges {{ cursor node {{ id name }} }} }} }} {FRAGMENT}""",
    "typename and aliases": """query($id: ID!) { asset(id: $id) { __typename id again: id
        allTime { __typename n: impressions impressions } } }""",
    "an error in a field": """query($id: ID!) { asset(id: $id) { id
        metrics(window: {start: "2026-01-01", end: "2029-01-01"}) { impressions } } }""",
}


@pytest.fixture(scope="module")
def truth(tiny_raw: Path) -> Truth:
    return truth_of(tiny_raw)


def _variables(truth: Truth) -> dict[str, Any]:
    days = truth.days()
    assets = truth.busiest("asset", 6)
    window = {"start": days[0].isoformat(), "end": days[-1].isoformat()}
    countries = sorted({c for a in assets for c in truth.countries_of_asset(a)})[:2]
    return {"ids": assets, "id": assets[0], "w": window, "f": {"countries": countries}}


def _without_request_ids(payload: dict[str, Any]) -> dict[str, Any]:
    # every request has its own id; the answers must be equal otherwise
    for error in payload.get("errors") or ():
        error.get("extensions", {}).pop("requestId", None)
    return payload


async def test_product_answers_equal_the_standard_execution(
    tiny_warehouse: Path, truth: Truth
) -> None:
    variables = _variables(truth)
    bodies: dict[bool, dict[str, Any]] = {}
    for plain in (True, False):
        async with api(
            tiny_warehouse, schema=build_schema(plain_fields=plain), cache_ttl_s=0
        ) as client:
            bodies[plain] = {
                name: _without_request_ids(await gql(client, query, variables))
                for name, query in QUERIES.items()
            }
    for name in QUERIES:
        assert bodies[True][name] == bodies[False][name], name
    assert not bodies[True]["breakdowns and series"].get("errors")
    assert len(bodies[True]["breakdowns and series"]["data"]["asset"]["daily"]) == len(truth.days())
    assert bodies[True]["an error in a field"]["errors"][0]["extensions"]["code"]


def test_every_plain_field_of_the_metric_types_is_marked() -> None:
    graphql_schema = build_schema()._schema
    names = ("Metrics", "Estimate", "MetricPoint", "Availability", "Asset", "Title")
    marked = {
        kind: {
            name: sorted(f for f, d in t.fields.items() if kind in (d.extensions or {}))
            for name in names
            for t in [graphql_schema.type_map[name]]
        }
        for kind in (PLAIN_LEAF, PLAIN_OBJECT)
    }
    assert marked[PLAIN_LEAF] == {
        "Metrics": ["authenticity", "engagedPlays", "impressions", "playSeconds", "qualifiedPlays"],
        "Estimate": ["lower", "upper", "value"],
        "MetricPoint": ["date"],
        "Availability": ["countries", "countryCount"],
        "Asset": ["id", "mediaUrl", "name", "tags", "type"],
        "Title": ["genres", "id", "kind", "launchDate", "name"],
    }
    assert marked[PLAIN_OBJECT] == {
        "Metrics": ["takeRate", "uniqueImpressions", "uniquePlayers"],
        "Estimate": [],
        "MetricPoint": ["metrics"],
        "Availability": [],
        # snapshot fields: Asset and Title views are built once per snapshot
        "Asset": ["allTime", "availability"],
        "Title": ["allTime", "availability", "filterOptions"],
    }


# ---------------------------------------------------------------- values that are errors


class Color(Enum):
    RED = "red"


@strawberry.type
class Inner:
    label: str
    n: int | None


@strawberry.type
class Row:
    count: int
    ratio: float | None
    color: Color
    names: list[str]
    maybe_names: list[str | None] | None
    inner: Inner | None = None
    must: Inner = strawberry.field(default_factory=lambda: Inner(label="m", n=None))

    @strawberry.field
    def resolved(self) -> int:
        return self.count * 2


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row | None]:  # a bad row becomes null, not the whole list
        good = Row(count=1, ratio=0.5, color=Color.RED, names=["a"], maybe_names=["x", None])
        nulls = Row(count=None, ratio=None, color=Color.RED, names=["b"], maybe_names=None)  # type: ignore[arg-type]
        bad_float = Row(count=3, ratio=math.nan, color=Color.RED, names=[], maybe_names=[])
        bad_item = Row(count=4, ratio=1.0, color=Color.RED, names=["c", None], maybe_names=[])  # type: ignore[list-item]
        bad_enum = Row(count=5, ratio=1.0, color="blue", names=[], maybe_names=[])  # type: ignore[arg-type]
        missing = Row(count=6, ratio=1.0, color=Color.RED, names=[], maybe_names=[])
        del missing.ratio
        too_big = Row(count=2**40, ratio=1.0, color=Color.RED, names=[], maybe_names=[])
        # an iterator can be read once: a bad item in it must still be reported
        bad_iterator = Row(
            count=7, ratio=1.0, color=Color.RED, names=iter(["d", None]), maybe_names=[]
        )  # type: ignore[arg-type]
        # plain objects: a null object where allowed, and errors inside and at an object
        nested = Row(count=8, ratio=1.0, color=Color.RED, names=[7], maybe_names=[])  # type: ignore[list-item]
        nested.inner = Inner(label="i", n=3)
        null_label = Row(count=9, ratio=1.0, color=Color.RED, names=[], maybe_names=[])
        null_label.inner = Inner(label=None, n=1)  # type: ignore[arg-type]
        null_must = Row(count=10, ratio=1.0, color=Color.RED, names=[], maybe_names=[])
        null_must.must = None  # type: ignore[assignment]
        return [
            good,
            nulls,
            bad_float,
            bad_item,
            bad_enum,
            missing,
            too_big,
            bad_iterator,
            nested,
            null_label,
            null_must,
        ]


class CountResolves(SchemaExtension):
    """A field middleware: sees every field resolved."""

    seen: ClassVar[list[str]] = []

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        CountResolves.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


ROWS = "{ rows { count ratio color names maybeNames resolved alias: count } }"
# only plain fields: each row is completed from a plan, with fragments, skips, typenames
NESTED = """{ rows { count names inner { label n __typename } ... on Row { must { label } }
  ratio @skip(if: true) second: inner { ...I } } } fragment I on Inner { n }"""


class CountFieldProtocol(PlainFieldExecutionContext):
    """Records each field that reaches the per-field protocol."""

    seen: ClassVar[list[str]] = []

    def execute_field(self, parent_type: Any, source: Any, details: Any, *args: Any) -> Any:
        CountFieldProtocol.seen.append(details[0].node.name.value)
        return super().execute_field(parent_type, source, details, *args)


def _toy(
    plain: bool,
    extensions: list[Any] | None = None,
    context: type[PlainFieldExecutionContext] = PlainFieldExecutionContext,
) -> strawberry.Schema:
    schema = strawberry.Schema(
        query=Query,
        extensions=extensions or [],
        execution_context_class=context if plain else None,
    )
    if plain:
        assert mark_plain_fields(schema._schema) == 9
    return schema


def _outcome(schema: strawberry.Schema, query: str = ROWS) -> tuple[Any, list[tuple[str, Any]]]:
    result = schema.execute_sync(query)
    errors = sorted((e.message, e.path) for e in result.errors or [])
    return result.data, errors


def test_values_that_are_errors_get_the_standard_errors() -> None:
    fast, standard = _outcome(_toy(True)), _outcome(_toy(False))
    assert fast == standard
    data, errors = fast
    assert data is not None and data["rows"][0] == {
        "count": 1,
        "ratio": 0.5,
        "color": "RED",
        "names": ["a"],
        "maybeNames": ["x", None],
        "resolved": 2,
        "alias": 1,
    }
    # null count, NaN ratio, null list item, unknown enum value, missing attribute, an Int
    # out of range, null item of an iterator: each reported at its own path
    assert {path[1] for _, path in errors} == {1, 2, 3, 4, 5, 6, 7}


def test_plain_objects_get_the_standard_answers_and_errors() -> None:
    fast, standard = _outcome(_toy(True), NESTED), _outcome(_toy(False), NESTED)
    assert fast == standard
    data, errors = fast
    assert data is not None
    assert data["rows"][0] == {
        "count": 1,
        "names": ["a"],
        "inner": None,
        "must": {"label": "m"},
        "second": None,
    }
    assert data["rows"][8] == {
        "count": 8,
        "names": ["7"],  # an Int in a String list is serialized, not passed through
        "inner": {"label": "i", "n": 3, "__typename": "Inner"},
        "must": {"label": "m"},
        "second": {"n": 3},
    }
    # null label inside a nullable object: the object is null; null `must`: the row is
    assert data["rows"][9]["inner"] is None and data["rows"][10] is None
    assert {(path[1], path[2]) for _, path in errors if path[1] >= 8} == {
        (9, "inner"),
        (10, "must"),
    }


def test_plain_objects_skip_the_per_field_protocol() -> None:
    schema = _toy(True, context=CountFieldProtocol)
    CountFieldProtocol.seen = []
    result = schema.execute_sync("{ rows { count inner { label } must { n } } }")
    # null count, Int out of range, null label, null must
    failed = {e.path[1] for e in result.errors or [] if e.path}
    assert failed == {1, 6, 9, 10}
    # rows the plan completes never reach execute_field; a row with an error in a plain
    # field falls back to graphql-core's path for that row only
    assert CountFieldProtocol.seen.count("rows") == 1
    assert CountFieldProtocol.seen.count("count") == len(failed)


def test_a_field_middleware_still_sees_every_field() -> None:
    for query in (ROWS, NESTED):
        CountResolves.seen = []
        fast = _outcome(_toy(True, [CountResolves]), query)
        seen_fast = sorted(CountResolves.seen)
        CountResolves.seen = []
        standard = _outcome(_toy(False, [CountResolves]), query)
        assert fast == standard
        assert seen_fast == sorted(CountResolves.seen) and "count" in seen_fast
