"""Request bodies over HTTP: the size limit while streaming (with and without a declared
length), bodies that are not one GraphQL request, and the GET path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from keyart.schema.extensions import BoundedParserCache
from tests.e2e.harness import api, gql

LIMIT = 4096


def assert_refused(response: Any, status: int, code: str, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == code
    assert words in error["message"]
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_a_body_over_the_limit_is_refused_unread(tiny_warehouse: Path) -> None:
    padding = " " * LIMIT
    async with api(tiny_warehouse, max_body_bytes=LIMIT) as client:
        ok = await gql(client, "{ dataVersion }" + " " * (LIMIT - 100))
        assert ok["data"]["dataVersion"]
        declared = await client.post(
            "/graphql",
            content=b'{"query": "{ dataVersion }' + padding.encode() + b'"}',
            headers={"content-type": "application/json"},
        )
        assert_refused(declared, 413, "PAYLOAD_TOO_LARGE", f"limit of {LIMIT:,} bytes")

        chunks_read = 0

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
            nonlocal chunks_read
            for _ in range(1000):
                chunks_read += 1
                yield b" " * 1024

        streamed = await client.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_refused(streamed, 413, "PAYLOAD_TOO_LARGE", "larger than the limit")
        assert chunks_read < 1000  # refused while streaming, not after reading it all
        metrics = (await client.get("/metrics")).text
        assert 'keyart_http_refusals_total{code="PAYLOAD_TOO_LARGE"} 2.0' in metrics


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"null", "not null"),
        (b"42", "not a number"),
        (b'"{ dataVersion }"', "not a string"),
        (b"true", "not a boolean"),
        (b'[{"query": "{ dataVersion }"}]', "batched operations are not supported"),
        (b"{not json", "not valid JSON"),
        (b'{"query": "{ dataVersion }", "variables": 5}', "`variables` must be an object"),
        (b'{"query": 5}', "`query` must be a string"),
        (b'{"variables": {}}', "No GraphQL query found"),
    ],
)
async def test_bodies_that_are_not_one_graphql_request(
    tiny_warehouse: Path, body: bytes, words: str
) -> None:
    async with api(tiny_warehouse) as client:
        response = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert_refused(response, 400, "BAD_REQUEST", words)


async def test_the_get_path(tiny_warehouse: Path) -> None:
    async with api(tiny_warehouse, max_body_bytes=LIMIT) as client:
        ok = await client.get("/graphql", params={"query": "{ dataVersion }", "variables": "{}"})
        assert ok.status_code == 200 and ok.json()["data"]["dataVersion"]
        for variables, words in [("5", "must be a JSON object"), ("{x", "not valid JSON")]:
            bad = await client.get(
                "/graphql", params={"query": "{ dataVersion }", "variables": variables}
            )
            assert_refused(bad, 400, "BAD_REQUEST", words)
        long = await client.get("/graphql", params={"query": "{ dataVersion }" + " " * LIMIT})
        assert_refused(long, 413, "PAYLOAD_TOO_LARGE", "query string is longer")
        mutation = await client.get("/graphql", params={"query": "mutation { x }"})
        assert_refused(mutation, 400, "BAD_REQUEST", "mutation")
        put = await client.put("/graphql", json={"query": "{ dataVersion }"})
        assert_refused(put, 405, "BAD_REQUEST", "GET and POST")


async def test_long_query_texts_are_not_kept_by_the_parser_cache(tiny_warehouse: Path) -> None:
    # a cache size of its own: Strawberry shares one parse cache per size
    size = 97
    # an functools.lru_cache wrapper, typed as a plain callable by the parser cache
    cache: Any = BoundedParserCache(size, 100).cached_parse_document
    before = cache.cache_info().currsize
    async with api(tiny_warehouse, parser_cache_size=size, parser_cache_max_chars=100) as client:
        for i in range(3):
            short = await gql(client, f"{{ dataVersion }} # {i}")
            assert short["data"]["dataVersion"]
        assert cache.cache_info().currsize == before + 3
        for i in range(3):
            long = await gql(client, "{ dataVersion }" + " " * 200 + f"# {i}")
            assert long["data"]["dataVersion"]
        assert cache.cache_info().currsize == before + 3
