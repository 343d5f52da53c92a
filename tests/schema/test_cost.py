"""Static cost analysis: the estimate equals the size of the answer where the query fixes
every list, bounds it everywhere else, and an operation over the budget is refused before
any backend work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import parse

from keyart.schema import build_schema
from keyart.schema.cost import Fanout, estimate_cost
from keyart.store.consumer import SnapshotConsumer
from tests.e2e.harness import api, codes, gql
from tests.truth import Truth, truth_of


@pytest.fixture(scope="module")
def truth(tiny_raw: Path) -> Truth:
    return truth_of(tiny_raw)


@pytest.fixture(scope="module")
def fanout(tiny_warehouse: Path) -> Fanout:
    return Fanout.of(SnapshotConsumer(tiny_warehouse / "snapshots").load())


def answer_size(value: Any) -> int:
    """How many fields an answer holds, counted from the JSON: every key of every object
    (a list of scalars is one field)."""
    if isinstance(value, dict):
        return sum(1 + answer_size(v) for v in value.values())
    if isinstance(value, list):
        return sum(answer_size(v) for v in value)
    return 0


def estimate(query: str, variables: dict[str, Any], fanout: Fanout) -> int:
    return estimate_cost(build_schema()._schema, parse(query), variables=variables, fanout=fanout)


FIXED = """query($ids: [ID!]!, $w: DateRange!, $g: Granularity!) {
  dataVersion
  assets(ids: $ids) { id name type tags allTime { impressions uniqueImpressions { value } }
    availability { countries countryCount }
    timeseries(window: $w, granularity: $g) { date metrics { impressions uniquePlayers { value } } }
    metrics(window: $w) { qualifiedPlays } } }"""

BOUNDED = {
    "breakdowns": """query($ids: [ID!]!, $w: DateRange!) { assets(ids: $ids) { id
        byAffinity(window: $w) { affinity lift metrics { impressions } }
        byCountry(window: $w, top: 3) { country metrics { impressions } } } }""",
    "titles and their assets": """{ titles(first: 4) { totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor node { id name assets { id name } metrics(window:
          {start: "2026-01-21", end: "2026-02-10"}) { impressions } } } } }""",
    "fragments and aliases": """query($ids: [ID!]!, $w: DateRange!) {
        a: assets(ids: $ids) { ...A } b: assets(ids: $ids) { ... on Asset { id } } }
        fragment A on Asset { id byAffinity(window: $w, top: 2) { affinity } }""",
}


@pytest.mark.parametrize("granularity", ["DAY", "WEEK", "MONTH"])
async def test_estimate_is_the_answer_size_when_the_query_fixes_every_list(
    tiny_warehouse: Path, truth: Truth, fanout: Fanout, granularity: str
) -> None:
    days = truth.days()
    variables = {
        "ids": truth.busiest("asset", 3),
        "w": {"start": days[0].isoformat(), "end": days[-1].isoformat()},
        "g": granularity,
    }
    async with api(tiny_warehouse) as client:
        payload = await gql(client, FIXED, variables)
    assert not payload.get("errors"), payload
    assert estimate(FIXED, variables, fanout) == answer_size(payload["data"])


@pytest.mark.parametrize("name", sorted(BOUNDED))
async def test_estimate_bounds_the_answer_size(
    tiny_warehouse: Path, truth: Truth, fanout: Fanout, name: str
) -> None:
    days = truth.days()
    variables = {
        "ids": truth.busiest("asset", 4),
        "w": {"start": days[0].isoformat(), "end": days[-1].isoformat()},
    }
    query = BOUNDED[name]
    async with api(tiny_warehouse) as client:
        payload = await gql(client, query, variables)
    assert not payload.get("errors"), payload
    size = answer_size(payload["data"])
    cost = estimate(query, variables, fanout)
    assert size <= cost <= 3 * size, (size, cost)


def test_unbounded_lists_count_the_data_in_the_snapshot(fanout: Fanout) -> None:
    assert fanout.affinities > 3 and fanout.countries > 3 and fanout.assets_per_title > 1
    window = '{start: "2026-01-21", end: "2026-01-30"}'
    one = estimate(
        f'{{ asset(id: "a") {{ byAffinity(window: {window}) {{ affinity }} }} }}', {}, fanout
    )
    assert one == 2 + fanout.affinities
    top = estimate(
        f'{{ asset(id: "a") {{ byCountry(window: {window}, top: 2) {{ country }} }} }}', {}, fanout
    )
    assert top == 2 + 2
    listed = estimate(
        f"""{{ asset(id: "a") {{ byAffinity(window: {window},
            filter: {{affinities: ["x", "y", "z"]}}) {{ affinity }} }} }}""",
        {},
        fanout,
    )
    assert listed == 2 + 3
    per_title = estimate('{ title(id: "t") { assets { id } } }', {}, fanout)
    assert per_title == 2 + fanout.assets_per_title
    # titles(first) defaults to 50 and never counts more titles than there are
    page = estimate("{ titles { edges { cursor } } }", {}, fanout)
    assert page == 2 + min(50, fanout.titles)
    # literals, variables and variable defaults count alike
    page_of = "titles(first: $n) { edges { cursor } }"
    literal = estimate("{ " + page_of.replace("$n", "3") + " }", {}, fanout)
    variable = estimate("query($n: Int) { " + page_of + " }", {"n": 3}, fanout)
    default = estimate("query($n: Int = 3) { " + page_of + " }", {}, fanout)
    assert literal == variable == default == 2 + 3


async def test_an_operation_over_budget_is_refused_before_any_backend_work(
    tiny_warehouse: Path, truth: Truth, fanout: Fanout
) -> None:
    days = truth.days()
    variables = {
        "ids": truth.busiest("asset", 3),
        "w": {"start": days[0].isoformat(), "end": days[-1].isoformat()},
        "g": "DAY",
    }
    cost = estimate(FIXED, variables, fanout)
    async with api(tiny_warehouse, max_query_cost=cost - 1) as client:
        payload = await gql(client, FIXED, variables)
        executor = client.app.state.keyart.executor  # type: ignore[attr-defined]
        assert executor.backend_queries == 0
        assert codes(payload) == ["QUERY_TOO_COSTLY"]
        error = payload["errors"][0]
        assert f"{cost:,}" in error["message"] and f"{cost - 1:,}" in error["message"]
        assert error["extensions"]["cost"] == cost
        assert error["extensions"]["limit"] == cost - 1
        assert payload["data"] is None
        metrics = (await client.get("/metrics")).text
        assert 'keyart_graphql_errors_total{code="QUERY_TOO_COSTLY"} 1.0' in metrics
    async with api(tiny_warehouse, max_query_cost=cost) as client:
        payload = await gql(client, FIXED, variables)
        assert not payload.get("errors"), payload
