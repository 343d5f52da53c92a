"""A cheap HTTP/1.1 load generator for GraphQL POSTs, so the client does not eat the cores
it measures.

httpx costs ~2 ms of CPU per request, about a third of what an uncached title page costs
the server, and on a 2-core host that is a core the server does not get. This client
keeps `concurrency` keep-alive connections, each sending pre-encoded request bytes (one
per variable set, built once) and reading a Content-Length response, with no HTTP library
on the path: ~0.1 ms of CPU per request. A request counts as an error when the status is
not 200 or the body holds an `"errors"` key; the load generator's own CPU time is
reported so that results can say what it took.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

P = TypeVar("P")

CONNECTIONS_PER_PROCESS = 16  # one process keeps 16 connections busy at ~0.1 ms per request


def variable_set(connection: int, nth: int, connections: int, pool: int) -> int:
    """The variable set that request `nth` of connection `connection` sends, when
    `connections` connections in all (over every load process) draw from `pool` sets.

    Connection c sends sets c, c + C, c + 2C, ... modulo the largest multiple of C that
    fits the pool, so the requests in flight at any moment (one per connection) are all
    different. The server merges identical queries in flight into one computation
    (keyart/cache/ir.py), so identical concurrent requests would measure that merging,
    not the backend work of an uncached request.
    """
    if not 0 <= connection < connections:
        raise ValueError(f"connection {connection} is not one of {connections}")
    if pool < connections:
        raise ValueError(
            f"{connections} connections need at least as many distinct variable sets, "
            f"got {pool}: concurrent requests would repeat each other"
        )
    return (connection + connections * nth) % (connections * (pool // connections))


@dataclass
class Part:
    """What one load-generator process measured: latencies (s), errors, its time span and
    its own CPU time (s)."""

    latencies: list[float]
    errors: list[str]
    started: float
    ended: float
    cpu_s: float


def encode_requests(url: str, query: str, variables: Sequence[dict[str, Any]]) -> list[bytes]:
    """One complete `POST /graphql` request (headers and body) per variable set."""
    parts = urlsplit(url)
    host = parts.netloc
    out = []
    for v in variables:
        body = json.dumps({"query": query, "variables": v}).encode()
        head = (
            f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("ascii")
        out.append(head + body)
    return out


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """(status, body) of one response with a Content-Length (what uvicorn sends here)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise ValueError(f"response without Content-Length: {head[:200]!r}")
    return status, await reader.readexactly(length)


async def generate(
    url: str,
    requests_bytes: Sequence[bytes],
    concurrency: int,
    requests: int,
    budget_s: float,
    offset: int,
    connections: int,
) -> Part:
    """Requests over `concurrency` keep-alive connections until `requests` are answered (or
    `budget_s` is spent): these are connections `offset` .. `offset + concurrency - 1` of
    `connections` in all, each sending the variable sets `variable_set` gives it. Refusals
    (503) do not count towards `requests`: a refused client asks again at once, as a
    closed-loop client does, so refusals cost the server what they cost it in service."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    errors: list[str] = []
    answered = 0
    cpu0 = time.process_time()
    started = time.monotonic()
    deadline = started + budget_s

    async def connection(k: int) -> None:
        nonlocal answered
        reader, writer = await asyncio.open_connection(host, port)
        try:
            nth = 0
            while answered < requests and (nth == 0 or time.monotonic() < deadline):
                request = requests_bytes[variable_set(k, nth, connections, len(requests_bytes))]
                nth += 1
                t0 = time.perf_counter()
                try:
                    writer.write(request)
                    status, body = await _read_response(reader)
                except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                    latencies.append(time.perf_counter() - t0)
                    errors.append(repr(exc)[:300])
                    writer.close()  # the connection is in an unknown state: open a new one
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                latencies.append(time.perf_counter() - t0)
                if status != 503:
                    answered += 1
                if status != 200 or b'"errors":' in body:
                    errors.append(f"{status} {body[:300].decode(errors='replace')}")
        finally:
            writer.close()

    await asyncio.gather(*(connection(offset + k) for k in range(concurrency)))
    return Part(latencies, errors, started, time.monotonic(), time.process_time() - cpu0)


def _generate_process(*args: Any) -> Part:
    """generate() in a process of its own (ProcessPoolExecutor entry point)."""
    return asyncio.run(generate(*args))


def fan_out(
    generate_one: Callable[..., Coroutine[Any, Any, P]],
    in_process: Callable[..., P],
    head: tuple[Any, ...],
    concurrency: int,
    per_process: int,
    requests: int,
    budget_s: float,
) -> list[P]:
    """A load of `concurrency` connections spread over one process per `per_process` of
    them: `generate_one(*head, connections, requests, budget_s, offset, concurrency)` in
    each (through `in_process`, its process entry point); `offset` numbers the process's
    first connection among all `concurrency` (see variable_set)."""
    processes = max(1, -(-concurrency // per_process))
    if processes == 1:
        return [asyncio.run(generate_one(*head, concurrency, requests, budget_s, 0, concurrency))]
    # connections and requests shared out as evenly as they divide
    sizes = [concurrency // processes + (k < concurrency % processes) for k in range(processes)]
    offsets = [sum(sizes[:k]) for k in range(processes)]
    with ProcessPoolExecutor(max_workers=processes) as pool:
        futures = [
            pool.submit(
                in_process,
                *head,
                sizes[k],
                requests // processes + (k < requests % processes),
                budget_s,
                offsets[k],
                concurrency,
            )
            for k in range(processes)
        ]
        return [f.result() for f in futures]


def run(
    url: str,
    query: str,
    variables: Sequence[dict[str, Any]],
    concurrency: int,
    requests: int,
    budget_s: float,
) -> list[Part]:
    """One cell's load, spread over one process per CONNECTIONS_PER_PROCESS connections."""
    head = (url, encode_requests(url, query, variables))
    return fan_out(
        generate, _generate_process, head, concurrency, CONNECTIONS_PER_PROCESS, requests, budget_s
    )
