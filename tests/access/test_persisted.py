"""Apollo automatic persisted queries and safelist mode over HTTP, as Apollo Client's
PersistedQueryLink and Apollo's manifest tooling use them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from keyart.access.persisted import QueryTexts
from keyart.config import ApiSettings
from keyart.errors import ConfigError
from keyart.server import create_app
from tests.access.conftest import TITLE_QUERY
from tests.e2e.harness import api

ASSET_QUERY = "query Affinities { affinities }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(text_hash: str, query: str | None = None, **extra: Any) -> dict[str, Any]:
    """A request body as PersistedQueryLink sends it (hash only, or hash and query)."""
    body: dict[str, Any] = {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": text_hash}},
        **extra,
    }
    if query is not None:
        body["query"] = query
    return body


def not_found(response: Any) -> None:
    """What PersistedQueryLink retries on: 200, message PersistedQueryNotFound."""
    assert response.status_code == 200, response.text
    error = response.json()["errors"][0]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert "no-cache" in response.headers["cache-control"]


async def test_the_apq_round_trip_over_post_and_get(tiny_warehouse: Path) -> None:
    async with api(tiny_warehouse) as client:
        plain = (await client.post("/graphql", json={"query": TITLE_QUERY})).json()
        h = sha(TITLE_QUERY)
        not_found(await client.post("/graphql", json=apq(h)))
        registered = await client.post("/graphql", json=apq(h, TITLE_QUERY))
        by_hash = await client.post("/graphql", json=apq(h))
        extensions = json.dumps(apq(h)["extensions"])
        by_get = await client.get("/graphql", params={"extensions": extensions})
        # a second hash never answers with the first one's (cached) response
        other = sha(ASSET_QUERY)
        not_found(await client.post("/graphql", json=apq(other)))
        not_found(
            await client.get(
                "/graphql", params={"extensions": json.dumps(apq(other)["extensions"])}
            )
        )
        other_answer = (await client.post("/graphql", json=apq(other, ASSET_QUERY))).json()
    assert not plain.get("errors")
    assert registered.json() == plain
    assert by_hash.json() == plain
    assert by_get.status_code == 200 and by_get.json() == plain
    assert list(other_answer["data"]) == ["affinities"]


@pytest.mark.parametrize(
    "body, message",
    [
        (apq(sha("{ x }"), TITLE_QUERY), "provided sha does not match query"),
        ({"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}}, "Unsupported"),
        (apq("not-a-sha"), "64 lowercase hex"),
        ({"extensions": {"persistedQuery": "x"}}, "must be an object"),
    ],
)
async def test_bad_persisted_query_requests_are_400(
    tiny_warehouse: Path, body: dict[str, Any], message: str
) -> None:
    async with api(tiny_warehouse) as client:
        response = await client.post("/graphql", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert message in error["message"] and error["extensions"]["code"] == "BAD_REQUEST"


async def test_apq_can_be_turned_off(tiny_warehouse: Path) -> None:
    async with api(tiny_warehouse, persisted_queries=False) as client:
        response = await client.post("/graphql", json=apq(sha(TITLE_QUERY), TITLE_QUERY))
        plain = await client.post("/graphql", json={"query": TITLE_QUERY})
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == "PersistedQueryNotSupported"
    assert not plain.json().get("errors")


def manifest(path: Path, operations: list[dict[str, str]]) -> Path:
    """An Apollo persisted-query manifest file."""
    path.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    return path


async def test_safelist_runs_only_the_manifest_operations(
    tiny_warehouse: Path, tmp_path: Path
) -> None:
    listed = manifest(
        tmp_path / "pq.json",
        [
            {"id": sha(TITLE_QUERY), "name": "Titles", "type": "query", "body": TITLE_QUERY},
            {"id": "custom-id-1", "name": "Affinities", "type": "query", "body": ASSET_QUERY},
        ],
    )
    async with api(tiny_warehouse, safelist=listed) as client:
        by_id = await client.post("/graphql", json=apq(sha(TITLE_QUERY)))
        by_custom_id = await client.get(
            "/graphql", params={"extensions": json.dumps(apq("custom-id-1")["extensions"])}
        )
        by_body = await client.post("/graphql", json={"query": TITLE_QUERY})
        freeform = await client.post("/graphql", json={"query": "{ dataVersion }"})
        freeform_get = await client.get("/graphql", params={"query": "{ dataVersion }"})
        unknown = await client.post("/graphql", json=apq(sha("{ dataVersion }")))
        registering = await client.post(
            "/graphql", json=apq(sha("{ dataVersion }"), "{ dataVersion }")
        )
    assert by_id.status_code == 200 and by_id.json()["data"]["titles"]["totalCount"] > 0
    assert by_body.json() == by_id.json()
    assert list(by_custom_id.json()["data"]) == ["affinities"]
    for refused in (freeform, freeform_get):
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["extensions"]["code"] == "QUERY_NOT_IN_SAFELIST"
    for refused in (unknown, registering):
        assert refused.status_code == 404
        assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"


HEAD = '{"format": "apollo-persisted-query-manifest", "version": 1, "operations": '


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("not json", "cannot read a JSON manifest"),
        ('{"format": "other", "version": 1, "operations": []}', '"format" must be'),
        (
            '{"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}',
            "version",
        ),
        (
            HEAD + '[{"id": 1}]}',
            "string id and body",
        ),
        (HEAD + '[{"id": "a", "type": "mutation", "body": "mutation { x }"}]}', "queries only"),
        (HEAD + '[{"id": "a", "body": "{ a }"}, {"id": "a", "body": "{ b }"}]}', "two different"),
    ],
)
def test_a_bad_manifest_stops_the_server_with_a_clear_error(
    tmp_path: Path, content: str, fragment: str
) -> None:
    path = tmp_path / "pq.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=fragment):
        create_app(ApiSettings(warehouse=tmp_path / "wh", safelist=path))


def test_query_texts_are_bounded_by_size() -> None:
    texts = QueryTexts(max_bytes=100)
    for n in range(10):
        texts.put(f"h{n}", "x" * 30)
    assert len(texts) == 3 and texts.get("h9") and texts.get("h0") is None
    texts.put("huge", "y" * 101)
    assert texts.get("huge") is None
