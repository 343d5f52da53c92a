"""Plain leaf fields answered directly give exactly graphql-core's answers and errors."""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from keyart.schema import build_schema
from keyart.schema.execution import PLAIN_LEAF, PlainLeafExecutionContext, mark_plain_leaves
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


async def test_product_answers_equal_the_standard_execution(
    tiny_warehouse: Path, truth: Truth
) -> None:
    variables = _variables(truth)
    bodies: dict[bool, dict[str, Any]] = {}
    for plain in (True, False):
        async with api(
            tiny_warehouse, schema=build_schema(plain_leaves=plain), cache_ttl_s=0
        ) as client:
            bodies[plain] = {
                name: await gql(client, query, variables) for name, query in QUERIES.items()
            }
    for name in QUERIES:
        assert bodies[True][name] == bodies[False][name], name
    assert not bodies[True]["breakdowns and series"].get("errors")
    assert len(bodies[True]["breakdowns and series"]["data"]["asset"]["daily"]) == len(truth.days())
    assert bodies[True]["an error in a field"]["errors"][0]["extensions"]["code"]


def test_every_plain_field_of_the_metric_types_is_marked() -> None:
    graphql_schema = build_schema()._schema
    marked = {
        name: sorted(f for f, d in t.fields.items() if PLAIN_LEAF in (d.extensions or {}))
        for name in ("Metrics", "Estimate", "MetricPoint", "Availability")
        for t in [graphql_schema.type_map[name]]
    }
    assert marked == {
        "Metrics": ["authenticity", "engagedPlays", "impressions", "playSeconds", "qualifiedPlays"],
        "Estimate": ["lower", "upper", "value"],
        "MetricPoint": ["date"],
        "Availability": ["countries", "countryCount"],
    }


# ---------------------------------------------------------------- values that are errors


class Color(Enum):
    RED = "red"


@strawberry.type
class Row:
    count: int
    ratio: float | None
    color: Color
    names: list[str]
    maybe_names: list[str | None] | None

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
        return [good, nulls, bad_float, bad_item, bad_enum, missing, too_big, bad_iterator]


class CountResolves(SchemaExtension):
    """A field middleware: sees every field resolved."""

    seen: ClassVar[list[str]] = []

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        CountResolves.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


ROWS = "{ rows { count ratio color names maybeNames resolved alias: count } }"


def _toy(plain: bool, extensions: list[Any] | None = None) -> strawberry.Schema:
    schema = strawberry.Schema(
        query=Query,
        extensions=extensions or [],
        execution_context_class=PlainLeafExecutionContext if plain else None,
    )
    if plain:
        assert mark_plain_leaves(schema._schema) == 5
    return schema


def _outcome(schema: strawberry.Schema) -> tuple[Any, list[tuple[str, Any]]]:
    result = schema.execute_sync(ROWS)
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


def test_a_field_middleware_still_sees_every_field() -> None:
    CountResolves.seen = []
    fast = _outcome(_toy(True, [CountResolves]))
    seen_fast = sorted(CountResolves.seen)
    CountResolves.seen = []
    standard = _outcome(_toy(False, [CountResolves]))
    assert fast == standard
    assert seen_fast == sorted(CountResolves.seen) and "count" in seen_fast
