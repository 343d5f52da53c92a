"""Error mapping of the Druid client: HTTP failures become BadQuery / BackendUnavailable.

Druid's answers are simulated with httpx.MockTransport (this tests the code around Druid);
connection refusal and slow servers use real sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import date

import httpx
import pytest

from keyart.backends.druid import DruidBackend
from keyart.backends.druid.client import DruidClient
from keyart.errors import BackendUnavailable, BadQuery, ConfigError
from keyart.query import Filter, Interval, MetricQuery

QUERY = MetricQuery(Interval(date(2024, 1, 1), date(2024, 1, 7)))


def _mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def _druid_error(status: int, error: str, message: str, cls: str) -> httpx.MockTransport:
    body = {"error": error, "errorMessage": message, "errorClass": cls, "host": None}
    return _mock(lambda request: httpx.Response(status, json=body))


async def test_query_posts_the_compiled_body_to_druid_v2() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    backend = DruidBackend("http://broker:8082/", transport=_mock(handler))
    result = await backend.execute(QUERY)
    await backend.aclose()
    assert result.rows == ()
    assert len(seen) == 1
    assert seen[0].method == "POST"
    assert str(seen[0].url) == "http://broker:8082/druid/v2/"
    assert json.loads(seen[0].content) == backend.compile(QUERY)


async def test_empty_any_of_filter_answers_without_a_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    backend = DruidBackend("http://broker:8082", transport=_mock(handler))
    result = await backend.execute(MetricQuery(QUERY.interval, filter=Filter(countries=())))
    await backend.aclose()
    assert result.rows == ()


@pytest.mark.parametrize(
    ("status", "error", "cls"),
    [
        (400, "Unknown exception", "com.fasterxml.jackson.databind.exc.InvalidTypeIdException"),
        (400, "Resource limit exceeded", "org.apache.druid.query.ResourceLimitExceededException"),
        (501, "Unsupported operation", "org.apache.druid.query.QueryUnsupportedException"),
    ],
)
async def test_druid_query_errors_become_bad_query_with_druids_message(
    status: int, error: str, cls: str
) -> None:
    message = f"Could not resolve type id 'bogus' ({status})"
    client = DruidClient("http://broker:8082", transport=_druid_error(status, error, message, cls))
    with pytest.raises(BadQuery) as info:
        await client.query({"queryType": "bogus"})
    await client.aclose()
    text = str(info.value)
    assert message in text and error in text and cls in text
    assert "http://broker:8082/druid/v2/" in text


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, "Unknown exception"),
        (503, "Service Unavailable"),
        (504, "Query timeout"),
        (429, "Query capacity exceeded"),
    ],
)
async def test_druid_server_errors_become_backend_unavailable(status: int, error: str) -> None:
    transport = _druid_error(status, error, "no servers", "java.lang.RuntimeException")
    client = DruidClient("http://broker:8082", transport=transport)
    with pytest.raises(BackendUnavailable) as info:
        await client.query({"queryType": "timeseries"})
    await client.aclose()
    assert error in str(info.value) and f"HTTP {status}" in str(info.value)


# Druid 33 answers an unparseable query with HTTP 500 (shapes as seen from the real broker)
UNPARSEABLE_500 = {
    "error": "Unknown exception",
    "errorMessage": "Unhandled exception made it to the top",
    "errorClass": "com.fasterxml.jackson.databind.exc.InvalidTypeIdException",
    "host": "127.0.0.1",
}
INVALID_INPUT_500 = {
    "error": "druidException",
    "errorCode": "invalidInput",
    "persona": "USER",
    "category": "INVALID_INPUT",
    "errorMessage": "Unknown aggregator type",
    "context": {},
}
RUNTIME_500 = {
    "error": "Unknown exception",
    "errorClass": "org.jboss.netty.channel.ChannelException",
    "host": "127.0.0.1:8083",
    "errorCode": "legacyQueryException",
    "persona": "OPERATOR",
    "category": "RUNTIME_FAILURE",
    "errorMessage": "Channel disconnected",
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (UNPARSEABLE_500, BadQuery),
        (INVALID_INPUT_500, BadQuery),
        (RUNTIME_500, BackendUnavailable),
    ],
)
async def test_http_500_is_told_apart_by_category_and_class(
    body: dict[str, object], expected: type[Exception]
) -> None:
    client = DruidClient("http://b", transport=_mock(lambda r: httpx.Response(500, json=body)))
    with pytest.raises(expected) as info:
        await client.query({})
    await client.aclose()
    assert str(body["errorMessage"]) in str(info.value)


def test_out_of_range_lg_k_is_refused_before_reaching_druid() -> None:
    # a huge lgK makes a Druid historical run out of heap and exit
    with pytest.raises(ConfigError, match="lgK"):
        DruidBackend("http://b", lg_k=30)


async def test_newer_druid_exception_format_is_reported() -> None:
    body = {
        "error": "druidException",
        "errorCode": "invalidInput",
        "persona": "USER",
        "category": "INVALID_INPUT",
        "errorMessage": "Unknown datasource [nope]",
        "context": {},
    }
    client = DruidClient("http://b", transport=_mock(lambda r: httpx.Response(400, json=body)))
    with pytest.raises(BadQuery, match=r"Unknown datasource \[nope\]"):
        await client.query({})
    await client.aclose()


async def test_non_json_error_page_is_reported_verbatim() -> None:
    transport = _mock(lambda r: httpx.Response(502, text="<html>Bad Gateway</html>"))
    client = DruidClient("http://b", transport=transport)
    with pytest.raises(BackendUnavailable, match="Bad Gateway"):
        await client.query({})
    await client.aclose()


async def test_non_json_success_is_unavailable() -> None:
    client = DruidClient("http://b", transport=_mock(lambda r: httpx.Response(200, text="ok?")))
    with pytest.raises(BackendUnavailable, match="non-JSON"):
        await client.query({})
    await client.aclose()


async def test_ping_checks_status_health() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, json=request.url.host == "up")

    up = DruidClient("http://up:8082", transport=_mock(handler))
    await up.ping()
    down = DruidClient("http://sick:8082", transport=_mock(handler))
    with pytest.raises(BackendUnavailable, match="unhealthy"):
        await down.ping()
    await up.aclose()
    await down.aclose()
    assert paths == ["/status/health", "/status/health"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_closed_port_is_backend_unavailable_naming_the_url() -> None:
    port = _closed_port()
    backend = DruidBackend(f"http://127.0.0.1:{port}", timeout_s=2.0)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        await backend.execute(QUERY)
    with pytest.raises(BackendUnavailable):
        await backend.ping()
    await backend.aclose()
    assert time.monotonic() - started < 2.0
    assert f"http://127.0.0.1:{port}/druid/v2/" in str(info.value)
    assert "2s" in str(info.value)


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A real TCP server that accepts connections and never answers."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read(1 << 16)
        await asyncio.sleep(30)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    for writer in writers:
        writer.close()
    server.close()


async def test_slow_broker_times_out_within_the_configured_timeout(silent_server: str) -> None:
    backend = DruidBackend(silent_server, timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        await backend.execute(QUERY)
    elapsed = time.monotonic() - started
    await backend.aclose()
    assert 0.25 <= elapsed < 2.0
    assert "did not answer within 0.3s" in str(info.value)
    assert silent_server in str(info.value)


def _broker(datasources: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/status/health":
            return httpx.Response(200, json=True)
        assert request.url.path == "/druid/v2/datasources"
        return httpx.Response(200, json=datasources)

    return httpx.MockTransport(handler)


async def test_backend_ping_needs_the_datasources_it_reads() -> None:
    both = ["keyart_asset_audience_day", "keyart_asset_country_day", "other"]
    ok = DruidBackend("http://b", transport=_broker(both))
    await ok.ping()
    await ok.aclose()

    partial = DruidBackend("http://b", transport=_broker(["keyart_asset_audience_day"]))
    with pytest.raises(BackendUnavailable, match=r"keyart_asset_country_day.*keyart druid ingest"):
        await partial.ping()
    await partial.aclose()

    audience_only = DruidBackend(
        "http://b", use_country_datasource=False, transport=_broker(["keyart_asset_audience_day"])
    )
    await audience_only.ping()
    await audience_only.aclose()
