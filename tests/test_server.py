"""The Starlette app over HTTP: health, readiness, Prometheus metrics, CORS, GraphiQL,
batching and caching on the real backend, snapshot swaps under load, corrupt snapshots,
and a backend failure isolated to its fields."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from keyart.backends.druid import DruidBackend
from keyart.backends.embedded import EmbeddedBackend
from keyart.config import EtlSettings
from keyart.etl.embedded import ingest
from keyart.store import files
from keyart.store.consumer import SnapshotConsumer
from keyart.store.producer import SnapshotProducer
from keyart.warehouse.layout import Warehouse
from tests.e2e.harness import api, codes, data, gql
from tests.e2e.server_process import free_port
from tests.etl.rawdata import random_world, split
from tests.truth import Truth, truth_of

WINDOW = {"start": "2026-01-21", "end": "2026-02-10"}


@pytest.fixture
def truth(tiny_raw: Path) -> Truth:
    return truth_of(tiny_raw)


async def test_health_and_readiness(tiny_warehouse: Path) -> None:
    async with api(tiny_warehouse) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ready"
        assert body["warehouse"] == Warehouse(tiny_warehouse).current().name
        assert body["snapshot"] == client.app.state.keyart.consumer.version  # type: ignore[attr-defined]


async def test_readiness_can_wait_for_the_serving_copy(
    tiny_warehouse: Path, tmp_path: Path
) -> None:
    # with the serving copy disabled, the flag keeps the server out of rotation and says why
    plain = EmbeddedBackend(tiny_warehouse, serving=False)
    try:
        async with api(tiny_warehouse, backend=plain) as client:
            body = (await client.get("/readyz")).json()
            assert body["status"] == "ready"
            assert body["serving_copy"] == "off"
        async with api(tiny_warehouse, backend=plain, ready_requires_serving_copy=True) as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["reasons"] == [
                "backend embedded: serving copy disabled, but "
                "KEYART_READY_REQUIRES_SERVING_COPY asks for it"
            ]
    finally:
        await plain.aclose()
    # with one built in the background (a version without the ingest's serving layout),
    # readiness follows the build
    wh = tmp_path / "wh"
    shutil.copytree(tiny_warehouse, wh, ignore=shutil.ignore_patterns("serving", "*.lock"))
    fresh = EmbeddedBackend(wh, cache_dir=tmp_path / "cache")
    try:
        async with api(wh, backend=fresh, ready_requires_serving_copy=True) as client:
            deadline = asyncio.get_running_loop().time() + 120
            ready = await client.get("/readyz")
            while ready.status_code != 200:
                assert ready.json()["serving_copy"] == "building", ready.text
                assert asyncio.get_running_loop().time() < deadline, ready.text
                await asyncio.sleep(0.2)
                ready = await client.get("/readyz")
            assert ready.json()["serving_copy"] == "ready"
            assert any((tmp_path / "cache").iterdir())
    finally:
        await fresh.aclose()


async def test_not_ready_without_a_snapshot(tmp_path: Path) -> None:
    empty = tmp_path / "warehouse"
    empty.mkdir()
    async with api(empty, snapshot_poll_s=3600) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert any(r.startswith("snapshot:") for r in ready.json()["reasons"])
        payload = await gql(client, "{ dataVersion }")
        assert codes(payload) == ["SNAPSHOT_UNAVAILABLE"]


async def test_prometheus_metrics(tiny_warehouse: Path, truth: Truth) -> None:
    title = truth.busiest("title", 1)[0]
    query = """query TitlePage($id: ID!, $w: DateRange!) { dataVersion
        title(id: $id) { assets { metrics(window: $w) { impressions } } } }"""
    variant = query.replace("{ impressions }", "{ impressions qualifiedPlays }")
    variables = {"id": title, "w": WINDOW}
    async with api(tiny_warehouse, snapshot_poll_s=3600) as client:
        first = await data(client, query, variables)
        assert await data(client, query, variables) == first  # whole-response cache
        await data(client, variant, variables)  # same backend query: result cache
        await gql(client, "{ nope }")
        text = (await client.get("/metrics")).text
    assert 'keyart_graphql_request_seconds_count{operation="TitlePage"} 2.0' in text
    assert "keyart_response_cache_hits_total 1.0" in text
    assert 'keyart_backend_query_seconds_count{backend="embedded"} 1.0' in text
    assert "keyart_cache_misses_total 1.0" in text
    assert "keyart_cache_hits_total 1.0" in text
    assert 'keyart_graphql_errors_total{code="BAD_QUERY"} 1.0' in text
    assert f'version="{first["dataVersion"]}"' in text
    assert "keyart_snapshot_age_seconds" in text
    # a second app has its own registry: nothing carried over
    async with api(tiny_warehouse, snapshot_poll_s=3600) as other:
        fresh = (await other.get("/metrics")).text
    assert 'operation="TitlePage"' not in fresh


async def test_cors_from_settings(tiny_warehouse: Path) -> None:
    origin = "https://dashboard.example"
    async with api(tiny_warehouse, cors_origins=(origin,)) as client:
        allowed = await client.options(
            "/graphql",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert allowed.headers.get("access-control-allow-origin") == origin
        denied = await client.options(
            "/graphql",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert denied.headers.get("access-control-allow-origin") is None


async def test_graphiql_for_browsers(tiny_warehouse: Path) -> None:
    async with api(tiny_warehouse) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "graphiql" in page.text.lower()
        via_get = await client.get("/graphql", params={"query": "{ dataVersion }"})
        assert via_get.json()["data"]["dataVersion"]


async def test_a_title_page_costs_one_backend_query_per_shape(
    tiny_warehouse: Path, truth: Truth
) -> None:
    title = truth.busiest("title", 1)[0]
    n_assets = sum(1 for a in truth.assets.values() if a.title_id == title)
    assert n_assets >= 3
    query = """query($id: ID!, $w: DateRange!, $f: MetricFilter) { title(id: $id) {
        metrics(window: $w) { impressions }
        assets {
          id m: metrics(window: $w) { impressions }
          mf: metrics(window: $w, filter: $f) { impressions }
          byAffinity(window: $w) { affinity lift }
          timeseries(window: $w, granularity: WEEK) { date }
        } } }"""
    async with api(tiny_warehouse, cache_ttl_s=0) as client:
        executor = client.app.state.keyart.executor  # type: ignore[attr-defined]
        d = await data(client, query, {"id": title, "w": WINDOW, "f": {"countries": ["US"]}})
        assert len(d["title"]["assets"]) == n_assets
        # title metrics, asset metrics (shared with lift), filtered, by affinity, weekly
        assert executor.backend_queries == 5
        exact = truth.by_asset(date_of(WINDOW["start"]), date_of(WINDOW["end"]), titles={title})
        for a in d["title"]["assets"]:
            want = exact.get(a["id"])
            assert a["m"]["impressions"] == (0 if want is None else want.impressions)


def date_of(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)


async def test_cache_serves_repeats_until_the_data_version_moves(
    tiny_warehouse: Path, tmp_path: Path, truth: Truth
) -> None:
    blobs = tmp_path / "snapshots"
    producer = SnapshotProducer(blobs)
    version = Warehouse(tiny_warehouse).current()
    producer.publish(version)
    consumer = SnapshotConsumer(blobs, poll_interval_s=3600)
    query = """query($id: ID!, $w: DateRange!) { dataVersion
        title(id: $id) { metrics(window: $w) { impressions uniqueImpressions { value } } } }"""
    variables = {"id": truth.busiest("title", 1)[0], "w": WINDOW}
    async with api(tiny_warehouse, consumer=consumer, snapshot_dir=blobs) as client:
        executor = client.app.state.keyart.executor  # type: ignore[attr-defined]
        first = await data(client, query, variables)
        second = await data(client, query, variables)
        assert second == first
        assert executor.backend_queries == 1
        producer.publish(version)
        assert consumer.refresh()
        third = await data(client, query, variables)
        assert third["dataVersion"] != first["dataVersion"]
        assert third["title"] == first["title"]  # same data, recomputed under the new version
        assert executor.backend_queries == 2


async def test_backend_failure_is_isolated_to_its_fields(
    tiny_warehouse: Path, truth: Truth
) -> None:
    asset = sorted(truth.assets)[0]
    closed = DruidBackend(f"http://127.0.0.1:{free_port()}", timeout_s=2.0)
    query = """query($id: ID!, $w: DateRange!) {
        dataVersion
        ok: asset(id: $id) { id allTime { impressions } availability { countryCount } }
        bad: asset(id: $id) { metrics(window: $w) { impressions } }
    }"""
    try:
        async with api(tiny_warehouse, backend=closed) as client:
            payload = await gql(client, query, {"id": asset, "w": WINDOW})
            assert codes(payload) == ["BACKEND_UNAVAILABLE"]
            assert payload["errors"][0]["path"] == ["bad", "metrics"]
            assert payload["data"]["bad"] is None
            assert payload["data"]["ok"]["id"] == asset
            days = truth.days()
            exact = truth.metrics(days[0], days[-1], assets={asset})
            assert payload["data"]["ok"]["allTime"]["impressions"] == exact.impressions
            assert payload["data"]["dataVersion"]
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert any(r.startswith("backend druid") for r in ready.json()["reasons"])
    finally:
        await closed.aclose()


async def test_snapshot_refresh_under_concurrent_load(
    tiny_warehouse: Path, tmp_path: Path, truth: Truth
) -> None:
    blobs = tmp_path / "snapshots"
    producer = SnapshotProducer(blobs, keep=2)
    version = Warehouse(tiny_warehouse).current()
    producer.publish(version)
    query = """query($id: ID!, $w: DateRange!) { dataVersion
        title(id: $id) {
          allTime { impressions } assets { id metrics(window: $w) { impressions } } } }"""
    variables = {"id": truth.busiest("title", 1)[0], "w": WINDOW}
    seen: list[list[str]] = [[] for _ in range(4)]
    failures: list[Any] = []
    async with api(
        tiny_warehouse, snapshot_dir=blobs, snapshot_poll_s=0.02, cache_ttl_s=0
    ) as client:
        expected = await data(client, query, variables)

        async def worker(k: int) -> None:
            for _ in range(40):
                response = await client.post(
                    "/graphql", json={"query": query, "variables": variables}
                )
                payload = response.json()
                if response.status_code != 200 or payload.get("errors"):
                    failures.append(payload)
                    continue
                seen[k].append(payload["data"]["dataVersion"])
                assert payload["data"]["title"] == expected["title"]

        async def publisher() -> list[str]:
            published = []
            for _ in range(4):
                await asyncio.sleep(0.05)
                published.append(await asyncio.to_thread(producer.publish, version))
            return published

        publishing = asyncio.ensure_future(publisher())
        await asyncio.gather(publishing, *(worker(k) for k in range(4)))
        published = publishing.result()
        for _ in range(500):  # the poller picks the last one up within a few polls
            final = await data(client, "{ dataVersion }")
            if final["dataVersion"] == published[-1]:
                break
            await asyncio.sleep(0.02)
    assert failures == []
    for versions in seen:
        seqs = [files.version_seq(v) for v in versions]
        assert seqs == sorted(seqs), "the served version went backwards"
    assert final["dataVersion"] == published[-1]
    assert len({v for vs in seen for v in vs}) >= 2, "no swap happened during the load"


async def test_snapshot_objects_follow_each_new_snapshot(tmp_path: Path) -> None:
    # Asset and Title views are built once per snapshot: after a swap they must show the
    # new snapshot's numbers, and a request on one snapshot reuses the same views
    world = random_world(seed=11, days=2)
    warehouse, blobs = tmp_path / "warehouse", tmp_path / "snapshots"
    settings = EtlSettings()
    ingest(split(world, {0}).write(tmp_path / "day0"), warehouse, settings, progress=False)
    producer = SnapshotProducer(blobs)
    producer.publish(Warehouse(warehouse).current())
    consumer = SnapshotConsumer(blobs, poll_interval_s=3600)
    query = """query($ids: [ID!]!) { dataVersion
        assets(ids: $ids) { id allTime { impressions } availability { countryCount } }
        title(id: "t0") { allTime { impressions } filterOptions { countries } } }"""
    ids = ["t0a0", "t0a1", "t1a0"]
    day0, both = split(world, {0}).truth(), world.truth()

    def expected(truth: Truth) -> dict[str, Any]:
        first, last = truth.days()[0], truth.days()[-1]
        return {
            "assets": [
                {
                    "id": a,
                    "allTime": {"impressions": truth.metrics(first, last, assets={a}).impressions},
                    "availability": {"countryCount": len(truth.countries_of_asset(a))},
                }
                for a in ids
            ],
            "title": {
                "allTime": {"impressions": truth.metrics(first, last, titles={"t0"}).impressions},
                "filterOptions": {"countries": sorted(truth.countries_of_title("t0"))},
            },
        }

    async with api(warehouse, consumer=consumer, snapshot_dir=blobs, cache_ttl_s=0) as client:
        state = client.app.state.keyart  # type: ignore[attr-defined]
        first = await data(client, query, {"ids": ids})
        assert {k: v for k, v in first.items() if k != "dataVersion"} == expected(day0)
        memo = state.memo
        assert memo is not None and await data(client, query, {"ids": ids}) == first
        assert state.memo is memo  # same snapshot, same shared views
        ingest(split(world, {1}).write(tmp_path / "day1"), warehouse, settings, progress=False)
        producer.publish(Warehouse(warehouse).current())
        assert consumer.refresh()
        second = await data(client, query, {"ids": ids})
    assert second["dataVersion"] != first["dataVersion"]
    assert {k: v for k, v in second.items() if k != "dataVersion"} == expected(both)
    assert second["assets"] != first["assets"]


@pytest.mark.parametrize("damage", ["flip", "truncate"])
async def test_a_corrupt_snapshot_is_never_served(
    tiny_warehouse: Path, tmp_path: Path, damage: str
) -> None:
    blobs = tmp_path / "snapshots"
    producer = SnapshotProducer(blobs)
    version = Warehouse(tiny_warehouse).current()
    good = producer.publish(version)
    consumer = SnapshotConsumer(blobs, poll_interval_s=3600)
    async with api(tiny_warehouse, consumer=consumer, snapshot_dir=blobs) as client:
        assert (await data(client, "{ dataVersion }"))["dataVersion"] == good
        bad = producer.publish(version)
        blob = blobs / files.blob_name(bad)
        raw = bytearray(blob.read_bytes())
        if damage == "flip":
            middle = len(raw) // 2
            raw[middle : middle + 64] = bytes(b ^ 0xFF for b in raw[middle : middle + 64])
        else:
            raw = raw[: len(raw) // 2]
        blob.write_bytes(bytes(raw))
        assert not consumer.refresh()
        assert (await data(client, "{ dataVersion }"))["dataVersion"] == good
        assert (await client.get("/readyz")).json()["snapshot"] == good
        assert f'version="{good}"' in (await client.get("/metrics")).text
        newer = producer.publish(version)
        assert consumer.refresh()
        assert (await data(client, "{ dataVersion }"))["dataVersion"] == newer


async def test_serve_settings_and_backend_choice(
    tiny_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    from keyart.backends.embedded import EmbeddedBackend
    from keyart.backends.legacy import LegacyBackend
    from keyart.cli import settings_from_args
    from keyart.server import build_backend

    monkeypatch.setenv("KEYART_CACHE_TTL_S", "7")
    monkeypatch.setenv("KEYART_PORT", "9999")
    args = argparse.Namespace(
        warehouse=tiny_warehouse,
        host=None,
        port=8123,
        backend="druid",
        druid_url="http://127.0.0.1:1",
        cache_url=None,
        snapshot_pin=None,
    )
    settings = settings_from_args(args)
    assert settings.cache_ttl_s == 7  # from the environment
    assert settings.port == 8123  # the flag wins over KEYART_PORT
    assert settings.warehouse == tiny_warehouse
    druid = build_backend(settings)
    assert isinstance(druid, DruidBackend)
    await druid.aclose()
    embedded = build_backend(settings, "embedded")
    assert isinstance(embedded, EmbeddedBackend)
    await embedded.aclose()
    legacy = build_backend(settings, "legacy")
    assert isinstance(legacy, LegacyBackend)
    await legacy.aclose()


@pytest.mark.parametrize("cache_ttl_s", [3600, 0])
async def test_a_request_body_is_parsed_once(
    tiny_warehouse: Path, monkeypatch: pytest.MonkeyPatch, cache_ttl_s: int
) -> None:
    import orjson

    query = "{ titles(first: 2) { edges { node { id name } } } }"
    body = orjson.dumps({"query": query, "operationName": None})
    decoded: list[bytes] = []
    loads = orjson.loads

    def counting(data: bytes | str) -> Any:
        if data == body:
            decoded.append(bytes(data))
        return loads(data)

    async with api(tiny_warehouse, cache_ttl_s=cache_ttl_s) as client:
        monkeypatch.setattr(orjson, "loads", counting)
        answers = []
        for _ in range(2):  # with the response cache, the second is answered from it
            response = await client.post(
                "/graphql", content=body, headers={"content-type": "application/json"}
            )
            answers.append(response.json())
        assert decoded == [body, body]  # once per request
        assert answers[0] == answers[1] and len(answers[0]["data"]["titles"]["edges"]) == 2
        # a body that is not JSON is still refused before execution, once
        bad = await client.post(
            "/graphql", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["code"]
