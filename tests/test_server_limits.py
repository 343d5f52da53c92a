"""Bounded work per request over HTTP: the execution deadline stops real DuckDB work, the
response-size cap answers an error instead of a cut body, admission control sheds load
with 503 while /healthz answers; request ids, error masking and the
application/graphql-response+json media type."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from keyart.backends.duckdb.engine import DuckDBRunner
from keyart.config import ApiSettings
from keyart.errors import BackendUnavailable
from keyart.query import MetricQuery, QueryResult
from keyart.server import create_app
from tests.e2e.harness import api, codes, gql
from tests.truth import Truth, truth_of

# a statement DuckDB works on for hours unless interrupted
ENDLESS = "SELECT count(*) FROM range(1000000000000) t(i) WHERE i % 7 = 3"
WINDOW = {"start": "2026-01-21", "end": "2026-02-10"}
METRICS = """query($id: ID!, $w: DateRange!) { asset(id: $id) { id
    metrics(window: $w) { impressions } } }"""


class EndlessBackend:
    """A backend whose every query is a real DuckDB statement that never ends by itself,
    on one worker thread: the next query can only run once the previous was interrupted."""

    name = "endless"

    def __init__(self) -> None:
        self.runner = DuckDBRunner(threads=1, workers=1, name="endless")
        self.started = 0
        self.cancelled = 0

    async def execute(self, query: MetricQuery, version: str | None = None) -> QueryResult:
        self.started += 1
        try:
            await self.runner.run(lambda c: c.arrow(ENDLESS, ()), "endless")
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return QueryResult(())

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        self.runner.close()


class LeakyBackend:
    """A backend failing with a message full of internals (as a DuckDB or Druid error is)."""

    name = "leaky"

    async def execute(self, query: MetricQuery, version: str | None = None) -> QueryResult:
        raise BackendUnavailable(
            "query failed in DuckDB: IO Error: cannot open /srv/wh/versions/v7/rollups/"
            "asset_day/day=2026-01-21/part-0.parquet (checksum 9f86d081884c7d65)"
        )

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


async def wait_for(condition: Any, timeout_s: float = 5.0) -> None:
    """Wait until `condition()` holds (cancellation spreads over a few loop turns)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def truth(tiny_raw: Path) -> Truth:
    return truth_of(tiny_raw)


@pytest.fixture
async def endless() -> Any:
    backend = EndlessBackend()
    yield backend
    await backend.aclose()


async def test_the_deadline_interrupts_backend_work(
    tiny_warehouse: Path, truth: Truth, endless: EndlessBackend
) -> None:
    asset = truth.busiest("asset", 1)[0]
    async with api(tiny_warehouse, backend=endless, execution_timeout_s=0.5) as client:
        started = time.perf_counter()
        payload = await gql(client, METRICS, {"id": asset, "w": WINDOW})
        elapsed = time.perf_counter() - started
        assert codes(payload) == ["QUERY_TIMEOUT"]
        assert payload["data"] is None
        assert "within 0.5s" in payload["errors"][0]["message"]
        assert elapsed < 5, elapsed
        assert endless.started == 1
        await wait_for(lambda: endless.cancelled == 1)
        # nothing is left running for nobody: the shared computation was cancelled too...
        state = client.app.state.keyart  # type: ignore[attr-defined]
        assert state.cache.inflight == 0
        # ...and the one DuckDB worker was interrupted, so it answers the next statement
        answer = await asyncio.wait_for(
            endless.runner.run(lambda c: c.arrow("SELECT 42 AS x", ()), "x"), 10
        )
        assert answer.column("x").to_pylist() == [42]
        # a timed-out answer is never stored in the response cache
        again = await gql(client, METRICS, {"id": asset, "w": WINDOW})
        assert codes(again) == ["QUERY_TIMEOUT"] and endless.started == 2
        metrics = (await client.get("/metrics")).text
        assert 'keyart_graphql_errors_total{code="QUERY_TIMEOUT"} 2.0' in metrics


async def test_the_response_size_cap(tiny_warehouse: Path, truth: Truth) -> None:
    query = """query($ids: [ID!]!) { assets(ids: $ids) { id name tags
        availability { countries } } }"""
    variables = {"ids": sorted(truth.assets)}
    async with api(tiny_warehouse) as client:
        full = await client.post("/graphql", json={"query": query, "variables": variables})
        assert full.status_code == 200 and not full.json().get("errors")
    size = len(full.content)
    async with api(tiny_warehouse, max_response_bytes=size - 1) as client:
        capped = await client.post("/graphql", json={"query": query, "variables": variables})
        payload = capped.json()
        assert payload["data"] is None  # an error, never a cut answer
        assert codes(payload) == ["RESPONSE_TOO_LARGE"]
        assert f"{size:,} bytes" in payload["errors"][0]["message"]
        assert f"{size - 1:,}" in payload["errors"][0]["message"]
        assert payload["errors"][0]["extensions"]["requestId"] == capped.headers["x-request-id"]
    async with api(tiny_warehouse, max_response_bytes=size) as client:
        exact = await client.post("/graphql", json={"query": query, "variables": variables})
        assert exact.content == full.content


async def test_admission_sheds_load_and_healthz_answers(
    tiny_warehouse: Path, truth: Truth, endless: EndlessBackend
) -> None:
    asset = truth.busiest("asset", 1)[0]
    body = {"query": METRICS, "variables": {"id": asset, "w": WINDOW}}
    async with api(
        tiny_warehouse,
        backend=endless,
        execution_timeout_s=1.0,
        max_inflight=1,
        max_queued=1,
        queue_timeout_s=30,
        cache_ttl_s=0,
    ) as client:
        state = client.app.state.keyart  # type: ignore[attr-defined]
        first = asyncio.create_task(client.post("/graphql", json=body))
        while state.admission.inflight < 1:
            await asyncio.sleep(0.01)
        second = asyncio.create_task(client.post("/graphql", json=body))
        while state.admission.queued < 1:
            await asyncio.sleep(0.01)
        # saturated: one executing, one waiting; the next is refused at once
        started = time.perf_counter()
        refused = await client.post("/graphql", json=body)
        assert time.perf_counter() - started < 2  # not after the 30 s queue timeout
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        (error,) = refused.json()["errors"]
        assert error["extensions"]["code"] == "OVERLOADED"
        assert error["extensions"]["requestId"] == refused.headers["x-request-id"]
        started = time.perf_counter()
        health = await client.get("/healthz")
        assert health.status_code == 200 and time.perf_counter() - started < 2
        metrics = (await client.get("/metrics")).text
        assert "keyart_graphql_requests_inflight 1.0" in metrics
        assert "keyart_graphql_requests_queued 1.0" in metrics
        # the queued request runs when the first is done (both hit the deadline)
        for task in (first, second):
            answer = await task
            assert answer.status_code == 200 and codes(answer.json()) == ["QUERY_TIMEOUT"]
        assert endless.started == 2
        await wait_for(lambda: endless.cancelled == 2)
        assert state.admission.inflight == 0 and state.admission.queued == 0


async def test_a_queued_request_gives_up_after_the_queue_timeout(
    tiny_warehouse: Path, truth: Truth, endless: EndlessBackend
) -> None:
    asset = truth.busiest("asset", 1)[0]
    body = {"query": METRICS, "variables": {"id": asset, "w": WINDOW}}
    async with api(
        tiny_warehouse,
        backend=endless,
        execution_timeout_s=3.0,
        max_inflight=1,
        max_queued=4,
        queue_timeout_s=0.2,
        cache_ttl_s=0,
    ) as client:
        first = asyncio.create_task(client.post("/graphql", json=body))
        state = client.app.state.keyart  # type: ignore[attr-defined]
        while state.admission.inflight < 1:
            await asyncio.sleep(0.01)
        waited = await client.post("/graphql", json=body)
        assert waited.status_code == 503 and "within 0.2s" in waited.text
        assert codes(waited.json()) == ["OVERLOADED"]
        assert codes((await first).json()) == ["QUERY_TIMEOUT"]


async def test_request_ids(tiny_warehouse: Path) -> None:
    async with api(tiny_warehouse) as client:
        mine = await client.post(
            "/graphql", json={"query": "{ nope }"}, headers={"X-Request-Id": "dash-42.a:b"}
        )
        assert mine.headers["x-request-id"] == "dash-42.a:b"
        assert mine.json()["errors"][0]["extensions"]["requestId"] == "dash-42.a:b"
        for insane in ("x" * 65, "a b", "a/b", "id;x", "<script>"):
            other = await client.get("/healthz", headers={"X-Request-Id": insane})
            rid = other.headers["x-request-id"]
            assert rid != insane and len(rid) == 32
        one = (await client.get("/healthz")).headers["x-request-id"]
        two = (await client.get("/healthz")).headers["x-request-id"]
        assert one != two


async def test_backend_internals_go_to_the_log_not_to_clients(
    tiny_warehouse: Path, truth: Truth, caplog: pytest.LogCaptureFixture
) -> None:
    asset = truth.busiest("asset", 1)[0]
    caplog.set_level(logging.INFO, logger="keyart.graphql")
    async with api(tiny_warehouse, backend=LeakyBackend()) as client:
        response = await client.post(
            "/graphql", json={"query": METRICS, "variables": {"id": asset, "w": WINDOW}}
        )
    payload = response.json()
    assert codes(payload) == ["BACKEND_UNAVAILABLE"]
    text = response.text
    for secret in ("/srv/wh", "parquet", "DuckDB", "9f86d081884c7d65", "IO Error"):
        assert secret not in text
    assert (
        payload["errors"][0]["message"] == "the metrics backend could not answer; try again shortly"
    )
    rid = response.headers["x-request-id"]
    logged = [r.getMessage() for r in caplog.records if rid in r.getMessage()]
    assert any("/srv/wh/versions/v7" in line for line in logged), caplog.text


GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("{ dataVersion }", 200, None),
        ("{ titles(", 400, "BAD_QUERY"),
        ("{ nope }", 400, "BAD_QUERY"),
        ('{ titles(first: "x") { totalCount } }', 400, "BAD_USER_INPUT"),
        ("query($n: Int!) { titles(first: $n) { totalCount } }", 400, "BAD_USER_INPUT"),
        (
            '{ asset(id: "x") { metrics(window: {start: "2026-02-02", end: "2026-02-01"}) '
            "{ impressions } } }",
            200,
            None,
        ),
        (
            "{ titles(first: 500) { edges { node { assets { timeseries(window: "
            '{start: "2025-03-01", end: "2026-02-28"}) { date } } } } } }',
            400,
            "QUERY_TOO_COSTLY",
        ),
    ],
)
async def test_graphql_response_media_type(
    tiny_warehouse: Path, query: str, status: int, code: str | None
) -> None:
    async with api(tiny_warehouse) as client:
        spec = await client.post(
            "/graphql",
            json={"query": query},
            headers={"Accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"},
        )
        assert spec.status_code == status, spec.text
        assert spec.headers["content-type"] == GRAPHQL_RESPONSE
        if code is not None:
            assert codes(spec.json()) == [code]
        # application/json clients keep the traditional 200 for any GraphQL result
        plain = await client.post(
            "/graphql", json={"query": query}, headers={"Accept": "application/json"}
        )
        assert plain.status_code == 200
        assert plain.headers["content-type"].startswith("application/json")
        assert orjson.loads(plain.content).keys() == spec.json().keys()
        # transport errors use the negotiated type too
        refused = await client.post(
            "/graphql",
            content=b"null",
            headers={"content-type": "application/json", "Accept": GRAPHQL_RESPONSE},
        )
        assert refused.status_code == 400
        assert refused.headers["content-type"] == GRAPHQL_RESPONSE


def test_media_type_preference() -> None:
    from keyart.media import wants_graphql_response

    assert wants_graphql_response(GRAPHQL_RESPONSE)
    assert wants_graphql_response(f"application/json;q=0.9, {GRAPHQL_RESPONSE}")
    assert not wants_graphql_response("application/json")
    assert not wants_graphql_response("*/*")
    assert not wants_graphql_response("")
    assert not wants_graphql_response(f"{GRAPHQL_RESPONSE};q=0.5, application/json")
    assert not wants_graphql_response(f"{GRAPHQL_RESPONSE};q=0")


async def test_healthz_needs_no_execution_slot(tiny_warehouse: Path) -> None:
    async with api(tiny_warehouse, max_inflight=1, max_queued=0) as client:
        state = client.app.state.keyart  # type: ignore[attr-defined]
        async with state.admission.slot():  # the only slot is taken
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
            assert (
                await client.post("/graphql", json={"query": "{ dataVersion }"})
            ).status_code == 503


def test_limit_settings_from_the_environment_and_serve_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from keyart.cli import _parser, settings_from_args
    from keyart.config import ApiSettings, validate_limits
    from keyart.errors import ConfigError

    monkeypatch.setenv("KEYART_MAX_QUERY_COST", "1234")
    monkeypatch.setenv("KEYART_QUEUE_TIMEOUT_S", "0.25")
    monkeypatch.setenv("KEYART_MAX_INFLIGHT", "3")
    args = _parser().parse_args(
        ["serve", "--max-inflight", "5", "--execution-timeout", "1.5", "--max-body-bytes", "99"]
    )
    settings = settings_from_args(args)
    assert settings.max_query_cost == 1234 and settings.queue_timeout_s == 0.25
    assert settings.max_inflight == 5  # the flag wins over the environment
    assert settings.execution_timeout_s == 1.5 and settings.max_body_bytes == 99
    defaults = ApiSettings()
    assert (defaults.max_body_bytes, defaults.execution_timeout_s) == (1 << 20, 5.0)
    validate_limits(defaults)
    with pytest.raises(ConfigError, match="KEYART_MAX_INFLIGHT"):
        validate_limits(ApiSettings(max_inflight=0))
    with pytest.raises(ConfigError, match="execution_timeout_s"):
        validate_limits(ApiSettings(execution_timeout_s=-1))


async def test_the_deadline_cancels_a_druid_http_call(tiny_warehouse: Path, truth: Truth) -> None:
    from keyart.backends.druid import DruidBackend

    # a real TCP endpoint that reads the query and never answers, like a stuck broker
    opened: list[float] = []
    closed: list[float] = []

    async def stuck(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        opened.append(time.monotonic())
        await reader.read()  # returns at EOF: the client closed the connection
        closed.append(time.monotonic())
        writer.close()

    broker = await asyncio.start_server(stuck, "127.0.0.1", 0)
    port = broker.sockets[0].getsockname()[1]
    druid = DruidBackend(f"http://127.0.0.1:{port}", timeout_s=60.0)
    asset = truth.busiest("asset", 1)[0]
    try:
        async with api(tiny_warehouse, backend=druid, execution_timeout_s=2.0) as client:
            payload = await gql(client, METRICS, {"id": asset, "w": WINDOW})
            assert codes(payload) == ["QUERY_TIMEOUT"]
            assert opened, "the query never reached the broker"
            # the HTTP call was abandoned with its connection, long before Druid's 60 s
            await wait_for(lambda: len(closed) == len(opened))
            assert max(c - o for c, o in zip(closed, opened, strict=True)) < 10
    finally:
        await druid.aclose()
        broker.close()
        await broker.wait_closed()


class BlockingBackend:
    """The real embedded backend, followed by synchronous work that holds the event loop
    past the deadline (as building a huge answer does): no timer can fire meanwhile."""

    name = "blocking"

    def __init__(self, real: Any, hold_s: float) -> None:
        self.real = real
        self.hold_s = hold_s

    async def execute(self, query: MetricQuery, version: str | None = None) -> QueryResult:
        result: QueryResult = await self.real.execute(query)
        time.sleep(self.hold_s)  # blocks the loop on purpose
        return result

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        await self.real.aclose()


async def test_resolvers_resumed_after_the_deadline_answer_one_timeout(
    tiny_warehouse: Path, truth: Truth
) -> None:
    from keyart.backends.embedded import EmbeddedBackend

    backend = BlockingBackend(EmbeddedBackend(tiny_warehouse, serving=False), hold_s=0.6)
    query = """query($ids: [ID!]!, $w: DateRange!) { assets(ids: $ids) { id
        metrics(window: $w) { impressions } byCountry(window: $w) { country } } }"""
    try:
        async with api(tiny_warehouse, backend=backend, execution_timeout_s=0.3) as client:
            payload = await gql(client, query, {"ids": truth.busiest("asset", 6), "w": WINDOW})
            assert codes(payload) == ["QUERY_TIMEOUT"]  # one, not one per field
            assert payload["data"] is None
            metrics = (await client.get("/metrics")).text
            assert 'keyart_graphql_errors_total{code="QUERY_TIMEOUT"} 1.0' in metrics
    finally:
        await backend.aclose()


def test_check_deadline() -> None:
    from keyart.errors import QueryTimeout
    from keyart.resolvers.context import RequestContext

    ctx = RequestContext(settings=None, loader=None, snapshot_or_none=None)  # type: ignore[arg-type]
    ctx.check_deadline()  # no deadline: never
    ctx.deadline = time.monotonic() + 60
    ctx.check_deadline()
    ctx.deadline = time.monotonic() - 0.001
    with pytest.raises(QueryTimeout):
        ctx.check_deadline()


async def test_errors_outside_graphql_are_graphql_shaped(
    tiny_warehouse: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from keyart.store.consumer import SnapshotConsumer

    class BrokenConsumer(SnapshotConsumer):
        """A consumer failing in a way nobody planned for, with internals in the message."""

        def current(self) -> Any:
            raise RuntimeError("cannot mmap /srv/secret/snapshots/s9.blob")

    async with api(tiny_warehouse) as client:
        missing = await client.get("/nope")
        assert missing.status_code == 404
        assert codes(missing.json()) == ["NOT_FOUND"]
        wrong = await client.post("/healthz")
        assert wrong.status_code == 405
        assert codes(wrong.json()) == ["METHOD_NOT_ALLOWED"]
        assert wrong.json()["errors"][0]["extensions"]["requestId"] == wrong.headers["x-request-id"]
    consumer = BrokenConsumer(tiny_warehouse / "snapshots", poll_interval_s=3600)
    consumer.load()
    app = create_app(ApiSettings(warehouse=tiny_warehouse, allow_anonymous=True), consumer=consumer)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://keyart.test") as client:
        failed = await client.post("/graphql", json={"query": "{ dataVersion }"})
    assert failed.status_code == 500
    assert codes(failed.json()) == ["INTERNAL"]
    assert "/srv/secret" not in failed.text
    rid = failed.headers["x-request-id"]
    assert failed.json()["errors"][0]["extensions"]["requestId"] == rid
    assert any(rid in r.getMessage() for r in caplog.records)
