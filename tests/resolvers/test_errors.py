"""Bad requests get a clear message and an `extensions.code`, never a stack trace."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.harness import codes, gql
from tests.truth import Truth

pytestmark = pytest.mark.asyncio(loop_scope="module")

METRICS = """query($id: ID!, $w: DateRange!, $f: MetricFilter) {
  asset(id: $id) { metrics(window: $w, filter: $f) { impressions } } }"""


def an_asset(truth: Truth) -> str:
    return sorted(truth.assets)[0]


def assert_clean(payload: dict[str, Any]) -> None:
    text = json.dumps(payload)
    assert "Traceback" not in text
    assert 'File "' not in text
    for error in payload["errors"]:
        assert set(error.get("extensions", {})) <= {"code", "errorId", "requestId"}


async def expect(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None,
    code: str,
    words: str,
) -> dict[str, Any]:
    payload = await gql(client, query, variables)
    assert payload.get("errors"), payload
    assert codes(payload) == [code] * len(payload["errors"]), payload["errors"]
    assert words.lower() in payload["errors"][0]["message"].lower(), payload["errors"][0]
    assert_clean(payload)
    return payload


@pytest.mark.parametrize(
    ("window", "words"),
    [
        ({"start": "2026-02-01", "end": "2026-01-01"}, "before its start"),
        ({"start": "2024-01-01", "end": "2026-01-01"}, "the maximum is 366"),
        ({"start": "2026-13-01", "end": "2026-01-01"}, "not a calendar day"),
        ({"start": "01/02/2026", "end": "2026-01-01"}, "yyyy-mm-dd"),
        ({"start": 20260101, "end": "2026-01-01"}, "yyyy-mm-dd"),
        ({"start": "2026-01-01"}, "end"),
    ],
)
async def test_bad_windows(
    client: httpx.AsyncClient, truth: Truth, window: dict[str, Any], words: str
) -> None:
    payload = await expect(
        client, METRICS, {"id": an_asset(truth), "w": window}, "BAD_USER_INPUT", words
    )
    if "data" in payload and payload["data"] is not None:
        assert payload["data"]["asset"] is None  # metrics is non-null: the asset goes null


@pytest.mark.parametrize(
    ("flt", "words"),
    [
        ({"countries": ["us"]}, "two upper-case letters"),
        ({"countries": ["USA"]}, "'USA'"),
        ({"assetTypes": ["POSTER"]}, "POSTER"),
        ({"affinities": "not a list of strings", "countries": [1]}, "String"),
    ],
)
async def test_bad_filters(
    client: httpx.AsyncClient, truth: Truth, flt: dict[str, Any], words: str
) -> None:
    window = {"start": "2026-01-21", "end": "2026-01-31"}
    await expect(
        client, METRICS, {"id": an_asset(truth), "w": window, "f": flt}, "BAD_USER_INPUT", words
    )


async def test_unknown_ids_inside_filters_are_fine(client: httpx.AsyncClient, truth: Truth) -> None:
    window = {"start": "2026-01-21", "end": "2026-01-31"}
    flt = {"countries": ["ZZ"], "affinities": ["no such label"]}
    payload = await gql(client, METRICS, {"id": an_asset(truth), "w": window, "f": flt})
    assert "errors" not in payload
    assert payload["data"]["asset"]["metrics"]["impressions"] == 0


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("{ titles(first: -1) { totalCount } }", "first must be within"),
        ("{ titles(first: 100000) { totalCount } }", "first must be within"),
        ('{ titles(after: "garbage!") { totalCount } }', "cursor"),
        ('{ titles(first: "ten") { totalCount } }', "Int cannot represent"),
        ("{ title(id: 5.5) { id } }", "ID cannot represent"),
    ],
)
async def test_bad_arguments(client: httpx.AsyncClient, query: str, words: str) -> None:
    await expect(client, query, None, "BAD_USER_INPUT", words)


async def test_negative_top(client: httpx.AsyncClient, truth: Truth) -> None:
    query = """query($id: ID!) { asset(id: $id) {
        byCountry(window: {start: "2026-01-21", end: "2026-01-31"}, top: -1) { country } } }"""
    await expect(client, query, {"id": an_asset(truth)}, "BAD_USER_INPUT", "top must be >= 0")


def nested(depth: int) -> str:
    body = "id"
    for i in range(depth):
        body = f"assets {{ title {{ {body} }} }}" if i % 2 == 0 else body
    return "{ titles { edges { node { " + body + " } } } }"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("{ titles(", "Syntax Error"),
        ("{ nope }", "Cannot query field 'nope'"),
        ('{ asset(id: "x") { metrics { impressions } } }', "metrics(window:)' of type"),
        (nested(16), "exceeds maximum operation depth of 12"),
        ("{ " + " ".join(f"a{i}: dataVersion" for i in range(51)) + " }", "51 aliases found"),
        ("{ " + " ".join("dataVersion" for _ in range(2100)) + " }", "more than 2000 tokens"),
        ("mutation { x }", "mutation"),
    ],
)
async def test_malformed_queries(client: httpx.AsyncClient, query: str, words: str) -> None:
    payload = await gql(client, query)
    assert payload.get("errors"), payload
    assert set(codes(payload)) == {"BAD_QUERY"}, payload["errors"]
    assert any(words.lower() in e["message"].lower() for e in payload["errors"]), payload
    assert_clean(payload)


async def test_non_json_body_is_a_plain_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "Traceback" not in response.text
