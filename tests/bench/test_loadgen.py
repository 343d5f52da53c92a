"""The benchmark load generator: requests in flight at once are never identical (the
server would merge them into one computation), over real sockets."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import threading
from collections import Counter

import pytest

from bench import loadgen


@pytest.mark.parametrize(("connections", "pool"), [(1, 5), (8, 64), (32, 64), (7, 64), (5, 5)])
def test_sets_in_flight_are_distinct_whatever_each_connection_has_sent(
    connections: int, pool: int
) -> None:
    rng = random.Random(connections * 1000 + pool)
    for _ in range(2000):
        sent = [rng.randrange(500) for _ in range(connections)]
        in_flight = [loadgen.variable_set(c, n, connections, pool) for c, n in enumerate(sent)]
        assert len(set(in_flight)) == connections
        assert all(0 <= i < pool for i in in_flight)
    used = {
        loadgen.variable_set(c, n, connections, pool)
        for c in range(connections)
        for n in range(pool)
    }
    assert len(used) == connections * (pool // connections)  # the pool is used, not one set


def test_too_small_a_pool_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="8 connections need at least as many distinct"):
        loadgen.variable_set(0, 0, 8, 4)
    with pytest.raises(ValueError, match="connection 8 is not one of 8"):
        loadgen.variable_set(8, 0, 8, 64)


class _SlowServer:
    """A real HTTP/1.1 keep-alive server that holds each response a moment and records,
    for every request, the bodies in flight when it arrived."""

    def __init__(self) -> None:
        self.in_flight: Counter[bytes] = Counter()
        self.clashes = 0
        self.seen: Counter[bytes] = Counter()
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _SlowServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                body = await reader.readexactly(length)
                if self.in_flight[body]:
                    self.clashes += 1
                self.in_flight[body] += 1
                self.seen[body] += 1
                await asyncio.sleep(0.002)
                self.in_flight[body] -= 1
                out = b'{"data":{}}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def test_a_cell_over_real_sockets_sends_no_identical_requests_at_once() -> None:
    variables = [{"id": f"a{i}"} for i in range(64)]
    with _SlowServer() as server:
        parts = loadgen.run(
            f"http://127.0.0.1:{server.port}", "query Q($id: ID!) { x }", variables, 8, 400, 30.0
        )
    answered = sum(len(p.latencies) for p in parts)
    assert answered >= 400 and not any(p.errors for p in parts)
    assert server.connections == 8
    assert server.clashes == 0
    sent_ids = {json.loads(body)["variables"]["id"] for body in server.seen}
    assert sent_ids == {v["id"] for v in variables}


def test_connections_over_several_processes_are_all_opened_and_numbered_apart() -> None:
    variables = [{"id": f"a{i}"} for i in range(40)]
    with _SlowServer() as server:
        # 20 connections: two load processes (loadgen.CONNECTIONS_PER_PROCESS is 16)
        parts = loadgen.run(
            f"http://127.0.0.1:{server.port}", "query Q($id: ID!) { x }", variables, 20, 300, 30.0
        )
    assert len(parts) == 2
    assert server.connections == 20  # 10 + 10, none lost to rounding
    assert server.clashes == 0
    assert not list(itertools.chain.from_iterable(p.errors for p in parts))
