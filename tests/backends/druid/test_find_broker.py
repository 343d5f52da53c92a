"""`keyart druid ingest` finds the service that answers queries (a router given as --druid,
or a broker the coordinator lists) or fails within seconds naming every URL it tried."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from keyart.backends.druid.ingest import DruidIngestor
from keyart.errors import IngestError
from tests.druid_support import DruidEndpoints


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.druid
async def test_without_broker_the_coordinators_broker_is_found(druid: DruidEndpoints) -> None:
    ingestor = DruidIngestor(druid.overlord, coordinator_url=druid.coordinator, progress=None)
    try:
        await ingestor.preflight()
        assert ingestor.broker.url == druid.broker
        sql = {"query": "SELECT 2"}
        assert await ingestor.broker.request("POST", "/druid/v2/sql", json_body=sql) == [
            {"EXPR$0": 2}
        ]
    finally:
        await ingestor.aclose()


@pytest.mark.druid
async def test_a_broker_that_does_not_answer_fails_fast_naming_it(druid: DruidEndpoints) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    ingestor = DruidIngestor(druid.overlord, dead, progress=None)
    started = time.monotonic()
    try:
        with pytest.raises(IngestError, match=rf"broker {dead} does not answer queries"):
            await ingestor.preflight()
    finally:
        await ingestor.aclose()
    assert time.monotonic() - started < 10


async def test_no_broker_anywhere_names_each_url_tried() -> None:
    # an overlord with the extension whose coordinator API lists no broker and which
    # answers no query itself (a plain overlord); unit test of the discovery around it
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/status":
            return httpx.Response(200, json={"modules": [{"artifact": "druid-datasketches"}]})
        if request.url.path == "/druid/coordinator/v1/cluster":
            return httpx.Response(200, json={"coordinator": [], "broker": []})
        return httpx.Response(404, text="Not Found")

    ingestor = DruidIngestor(
        "http://overlord:8090", progress=None, transport=httpx.MockTransport(answer)
    )
    try:
        with pytest.raises(IngestError) as caught:
            await ingestor.preflight()
    finally:
        await ingestor.aclose()
    message = str(caught.value)
    assert "http://overlord:8090/druid/v2/sql" in message
    assert "lists no broker" in message and "--broker" in message
