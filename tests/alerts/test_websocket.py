"""The subscription endpoint over a real uvicorn server: keys from connection_init on both
protocols, refusals, the per-connection subscription cap and the idle timeout."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from keyart.state import KeyStore, StateStore, state_url
from tests.e2e.server_process import ServerProcess

SUB = "subscription { alerts { id } }"


@pytest.fixture(scope="module")
def served(
    tiny_warehouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A server requiring keys, with a 2-subscription cap and a 1.5 s idle timeout; its
    websocket URL and a read key."""
    tmp = tmp_path_factory.mktemp("ws")
    url = state_url(tmp / "state")
    store = StateStore.open(url)
    _, token = KeyStore(store).create("ws", "read")
    store.close()
    server = ServerProcess(
        ["serve", "--warehouse", str(tiny_warehouse), "--state-url", url],
        tmp / "serve.log",
        {"KEYART_WS_MAX_SUBSCRIPTIONS": "2", "KEYART_WS_IDLE_TIMEOUT_S": "1.5"},
        anonymous=False,
    )
    server.wait_ready()
    yield server.url.replace("http", "ws") + "/graphql", token
    server.stop()


async def _init(ws: ClientConnection, token: str | None, proto: str) -> dict[str, Any]:
    payload = {} if token is None else {"Authorization": f"Bearer {token}"}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    answer: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return answer


def _start(proto: str, op_id: str) -> str:
    kind = "subscribe" if proto == "graphql-transport-ws" else "start"
    return json.dumps({"id": op_id, "type": kind, "payload": {"query": SUB}})


@pytest.mark.parametrize("proto", ["graphql-transport-ws", "graphql-ws"])
async def test_a_key_in_connection_init_is_needed(served: tuple[str, str], proto: str) -> None:
    url, token = served
    async with connect(url, subprotocols=[proto]) as ws:  # type: ignore[list-item]
        assert (await _init(ws, token, proto))["type"] == "connection_ack"
    for bad in (None, "ka_0000000000000000_" + "x" * 43):
        async with connect(url, subprotocols=[proto]) as ws:  # type: ignore[list-item]
            try:
                answer = await _init(ws, bad, proto)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 4403
            else:  # the legacy protocol reports the refusal, then closes
                assert answer["type"] == "connection_error"


async def test_subscriptions_per_connection_are_capped(served: tuple[str, str]) -> None:
    url, token = served
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await _init(ws, token, "graphql-transport-ws")
        await ws.send(_start("graphql-transport-ws", "1"))
        await ws.send(_start("graphql-transport-ws", "2"))
        await ws.send(_start("graphql-transport-ws", "3"))
        refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert refused["id"] == "3" and refused["type"] == "error"
        assert "limit" in refused["payload"][0]["message"]


async def test_an_idle_connection_is_closed(served: tuple[str, str]) -> None:
    url, token = served
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await _init(ws, token, "graphql-transport-ws")
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
    # a connection with a subscription stays open past the timeout
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await _init(ws, token, "graphql-transport-ws")
        await ws.send(_start("graphql-transport-ws", "1"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 3)
