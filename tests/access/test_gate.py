"""API keys and rate limits over HTTP against the real app and a real SQLite state store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from keyart.state import KeyStore, StateStore, state_url
from tests.access.conftest import TITLE_QUERY, bearer, keyed_api
from tests.e2e.harness import codes
from tests.e2e.redis_server import RedisServer

KeyMaker = Callable[..., str]


def transport_error(body: dict[str, Any], code: str) -> None:
    """A GraphQL-shaped transport error with `code` and no data."""
    assert "data" not in body, body
    assert [e["extensions"]["code"] for e in body["errors"]] == [code], body


async def test_no_key_is_refused_with_401(tiny_warehouse: Path, state_dir: Path) -> None:
    async with keyed_api(state_dir, tiny_warehouse) as client:
        for response in (
            await client.post("/graphql", json={"query": TITLE_QUERY}),
            await client.get("/graphql", params={"query": TITLE_QUERY}),
            await client.post(
                "/graphql", json={"query": TITLE_QUERY}, headers={"Authorization": "Basic eDp5"}
            ),
            await client.post("/graphql", json={"query": TITLE_QUERY}, headers=bearer("nope")),
        ):
            assert response.status_code == 401, response.text
            assert response.headers["www-authenticate"].startswith("Bearer")
            transport_error(response.json(), "UNAUTHENTICATED")
        # health and metrics stay open to probes
        assert (await client.get("/healthz")).status_code == 200
        metrics = (await client.get("/metrics")).text
        assert 'keyart_http_refusals_total{code="UNAUTHENTICATED"} 4.0' in metrics


async def test_a_valid_key_reads_and_names_itself_in_the_scope(
    tiny_warehouse: Path, state_dir: Path, make_key: KeyMaker
) -> None:
    token = make_key("partner-a")
    async with keyed_api(state_dir, tiny_warehouse) as client:
        body = (
            await client.post("/graphql", json={"query": TITLE_QUERY}, headers=bearer(token))
        ).json()
        got = (
            await client.get("/graphql", params={"query": TITLE_QUERY}, headers=bearer(token))
        ).json()
        scopes = client.recorder.scopes  # type: ignore[attr-defined]
    assert not body.get("errors") and body["data"]["titles"]["totalCount"] > 0
    assert got == body
    assert [s.get("keyart.key_name") for s in scopes] == ["partner-a", "partner-a"]
    assert [s.get("keyart.key_scope") for s in scopes] == ["read", "read"]


async def test_revocation_is_seen_within_the_key_cache_time(
    tiny_warehouse: Path, state_dir: Path, make_key: KeyMaker
) -> None:
    token = make_key("leaving")
    async with keyed_api(state_dir, tiny_warehouse, key_cache_s=0.3) as client:
        ok = await client.post("/graphql", json={"query": TITLE_QUERY}, headers=bearer(token))
        assert ok.status_code == 200
        store = StateStore.open(state_url(state_dir))
        KeyStore(store).revoke("leaving")
        store.close()
        await asyncio.sleep(0.4)
        refused = await client.post("/graphql", json={"query": TITLE_QUERY}, headers=bearer(token))
    assert refused.status_code == 401
    transport_error(refused.json(), "UNAUTHENTICATED")


ADMIN_QUERY = "{ apiKeys(includeRevoked: true) { id name scope createdAt revokedAt } }"


async def test_admin_fields_need_an_admin_key(
    tiny_warehouse: Path, state_dir: Path, make_key: KeyMaker
) -> None:
    read = make_key("reader", "read")
    admin = make_key("ops", "admin")
    async with keyed_api(state_dir, tiny_warehouse) as client:
        listed = await client.post("/graphql", json={"query": ADMIN_QUERY}, headers=bearer(admin))
        # the same text from a read key must be refused, not replayed from the response cache
        refused = await client.post("/graphql", json={"query": ADMIN_QUERY}, headers=bearer(read))
        mixed = await client.post(
            "/graphql",
            json={"query": "{ dataVersion apiKeys { name } }"},
            headers=bearer(read),
        )
    keys = listed.json()["data"]["apiKeys"]
    assert {(k["name"], k["scope"]) for k in keys} == {("reader", "read"), ("ops", "admin")}
    assert read not in listed.text and admin not in listed.text
    # the secret is everything after "ka_<16 hex id>_" (it may hold "_" itself)
    assert read[len("ka_") + 16 + 1 :] not in listed.text
    body = refused.json()
    assert body["data"] == {"apiKeys": None} and codes(body) == ["FORBIDDEN"]
    assert "admin API key" in body["errors"][0]["message"]
    partial = mixed.json()
    assert partial["data"]["dataVersion"] and codes(partial) == ["FORBIDDEN"]


async def test_anonymous_reads_when_allowed_but_a_bad_key_is_still_refused(
    tiny_warehouse: Path, state_dir: Path
) -> None:
    async with keyed_api(state_dir, tiny_warehouse, allow_anonymous=True) as client:
        anonymous = await client.post("/graphql", json={"query": TITLE_QUERY})
        admin_field = await client.post("/graphql", json={"query": ADMIN_QUERY})
        bad = await client.post("/graphql", json={"query": TITLE_QUERY}, headers=bearer("x"))
    assert anonymous.status_code == 200 and not anonymous.json().get("errors")
    assert codes(admin_field.json()) == ["FORBIDDEN"]
    assert bad.status_code == 401


async def test_rate_limit_per_key_answers_429_with_retry_after(
    tiny_warehouse: Path, state_dir: Path, make_key: KeyMaker
) -> None:
    busy, calm = make_key("busy"), make_key("calm")
    async with keyed_api(state_dir, tiny_warehouse, rate_limit="3/minute") as client:
        statuses = [
            (await client.post("/graphql", json={"query": TITLE_QUERY}, headers=bearer(busy)))
            for _ in range(5)
        ]
        other = await client.post("/graphql", json={"query": TITLE_QUERY}, headers=bearer(calm))
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
    limited = statuses[3]
    transport_error(limited.json(), "RATE_LIMITED")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert other.status_code == 200


@pytest.mark.redis
async def test_rate_limits_are_shared_through_redis(
    tiny_warehouse: Path, state_dir: Path, make_key: KeyMaker, redis_server: RedisServer
) -> None:
    token = make_key("shared")
    settings = {"rate_limit": "4/minute", "cache_url": redis_server.url}
    seen = []
    async with (
        keyed_api(state_dir, tiny_warehouse, **settings) as first,
        keyed_api(state_dir, tiny_warehouse, **settings) as second,
    ):
        for client in (first, second, first, second, first, second):
            response = await client.post(
                "/graphql", json={"query": TITLE_QUERY}, headers=bearer(token)
            )
            seen.append(response.status_code)
    assert seen == [200, 200, 200, 200, 429, 429]


async def test_introspection_and_graphiql_can_be_turned_off(
    tiny_warehouse: Path, state_dir: Path, make_key: KeyMaker
) -> None:
    token = make_key("partner")
    html = {"Accept": "text/html"}
    introspect = {"query": "{ __schema { queryType { name } } }"}
    async with keyed_api(state_dir, tiny_warehouse) as client:
        page = await client.get("/graphql", headers=html)  # the page needs no key
        allowed = await client.post("/graphql", json=introspect, headers=bearer(token))
    async with keyed_api(state_dir, tiny_warehouse, introspection=False, graphiql=False) as client:
        no_page = await client.get("/graphql", headers=html)
        refused = await client.post("/graphql", json=introspect, headers=bearer(token))
        still = await client.post("/graphql", json={"query": TITLE_QUERY}, headers=bearer(token))
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert allowed.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    assert no_page.status_code == 404
    assert set(codes(refused.json())) == {"BAD_QUERY"} and "introspection" in refused.text.lower()
    assert refused.json().get("data") is None
    assert not still.json().get("errors")


async def test_a_broken_state_store_reveals_nothing_internal(
    tiny_warehouse: Path, state_dir: Path, make_key: KeyMaker
) -> None:
    import sqlite3

    admin = make_key("ops", "admin")
    async with keyed_api(state_dir, tiny_warehouse) as client:
        first = await client.post("/graphql", json={"query": ADMIN_QUERY}, headers=bearer(admin))
        with sqlite3.connect(state_dir / "state.sqlite3") as db:
            db.execute("ALTER TABLE api_keys RENAME TO api_keys_gone")
        broken = await client.post("/graphql", json={"query": ADMIN_QUERY}, headers=bearer(admin))
        unknown = await client.post(
            "/graphql",
            json={"query": TITLE_QUERY},
            headers=bearer("ka_" + "1" * 16 + "_" + "x" * 43),
        )
    assert len(first.json()["data"]["apiKeys"]) == 1
    body = broken.json()
    assert body["data"] == {"apiKeys": None} and codes(body) == ["STATE"]
    assert "api_keys" not in broken.text and "sqlite" not in broken.text.lower()
    assert unknown.status_code == 503
    transport_error(unknown.json(), "UNAVAILABLE")
    assert "api_keys" not in unknown.text
