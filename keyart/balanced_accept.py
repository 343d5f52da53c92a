"""Even spreading of connections over `keyart serve --workers N`'s worker processes.

uvicorn's workers accept from one shared listening socket, and the worker whose event
loop wakes first accepts every pending connection: eight keep-alive clients connecting at
once were split 6/2, 7/1 or 8/0 between two workers, and one core idled while the other
ran behind. Here a worker accepts one connection at a time, and only while it holds no
more open connections than the least loaded live worker; each worker publishes its count
in a small shared file of slots (pid, open connections) that the main process creates
and every worker maps. A worker that may not accept steps aside for RETRY_S and looks
again; when connections have waited PATIENCE_S (the less loaded worker is busy or gone),
it accepts them anyway, so a connection is never left waiting on a stuck worker.

It plugs in through uvicorn's `loop` setting (an event loop factory): the workers' loop
is uvloop's (asyncio's without uvloop) with `create_server(sock=...)` answered by a
`BalancedServer`, an `asyncio.AbstractServer`; everything else is uvicorn's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import mmap
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# the main process's slot file, for its workers (an internal hand-over, not a setting)
SLOTS_ENV = "KEYART_SERVE_WORKER_SLOTS"
LOOP_FACTORY = "keyart.balanced_accept:new_event_loop"

RETRY_S = 0.002  # how soon a worker that stepped aside looks at the queue again
# how long connections wait for a less loaded worker before any takes them: long enough
# for a worker descheduled on a busy host to come back (at 50 ms, 8 connections were
# split 3/5 at load 5 on 2 cores), short enough for a one-off wait per new connection
PATIENCE_S = 0.25
PUBLISH_S = 0.1  # how often a worker refreshes its count (closed connections are not signalled)
_SLOT = 2  # int64 cells per slot: pid, open connections


def create_slots(path: Path, workers: int) -> None:
    """Write an empty slot file for `workers` workers (done by the main process)."""
    path.write_bytes(bytes(8 * _SLOT * workers))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Slots:
    """The shared slot file as seen by one worker: its own slot and the others' counts."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR)
        self._map = mmap.mmap(self._fd, 0)
        self._cells = memoryview(self._map).cast("q")
        self.size = len(self._cells) // _SLOT
        self.mine: int | None = None

    def claim(self, pid: int) -> int | None:
        """Take a free slot (never used, or its worker gone) for process `pid`; None when
        every slot belongs to a live worker."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # workers start together: one claims at a time
        try:
            for i in range(self.size):
                owner = self._cells[_SLOT * i]
                if owner in (0, pid) or not _alive(owner):
                    self._cells[_SLOT * i + 1] = 0
                    self._cells[_SLOT * i] = pid
                    self.mine = i
                    return i
            return None
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def publish(self, count: int) -> None:
        """Set this worker's count of open connections."""
        if self.mine is not None:
            self._cells[_SLOT * self.mine + 1] = count

    def counts(self) -> dict[int, int]:
        """Open connections per live worker's pid."""
        out = {}
        for i in range(self.size):
            pid = self._cells[_SLOT * i]
            if pid and _alive(pid):
                out[pid] = self._cells[_SLOT * i + 1]
        return out

    def least_of_others(self) -> int | None:
        """The smallest count of the other live workers (None when there are none)."""
        least: int | None = None
        for i in range(self.size):
            pid = self._cells[_SLOT * i]
            if i == self.mine or not pid:
                continue
            count = self._cells[_SLOT * i + 1]
            if (least is None or count < least) and _alive(pid):
                least = count
        return least

    def release(self) -> None:
        """Give this worker's slot up (it stops accepting)."""
        if self.mine is not None:
            self._cells[_SLOT * self.mine + 1] = 0
            self._cells[_SLOT * self.mine] = 0
            self.mine = None

    def close(self) -> None:
        """Release the slot and unmap the file."""
        self.release()
        self._cells.release()
        self._map.close()
        os.close(self._fd)


class BalancedServer(asyncio.AbstractServer):
    """Accepts from a listening socket shared with other workers, one connection at a
    time while this worker holds no more connections than the least loaded one, and
    hands each to the loop as `create_server` would (`connect_accepted_socket`)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        slots: Slots,
        backlog: int = 100,
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._factory = protocol_factory
        self._slots = slots
        self._transports: set[asyncio.BaseTransport] = set()
        self._connecting: set[asyncio.Task[None]] = set()
        self._waiting_since: float | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._serving = True
        self._closed = loop.create_future()
        sock.setblocking(False)
        sock.listen(backlog)  # as create_server does (uvicorn's workers get a bound socket)
        slot = slots.claim(os.getpid())
        slots.publish(0)
        log.info(
            "worker %d accepting connections (%s)",
            os.getpid(),
            f"slot {slot} of {slots.size}" if slot is not None else "no free slot: unbalanced",
        )
        loop.add_reader(sock.fileno(), self._readable)
        self._publisher = loop.call_later(PUBLISH_S, self._publish_tick)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        """The listening socket (as asyncio.Server.sockets)."""
        return (self._sock,)

    def open_connections(self) -> int:
        """Connections accepted by this worker and not closed yet."""
        self._transports = {t for t in self._transports if not t.is_closing()}
        return len(self._transports) + len(self._connecting)

    def _publish_tick(self) -> None:
        self._slots.publish(self.open_connections())
        if self._serving:
            self._publisher = self._loop.call_later(PUBLISH_S, self._publish_tick)

    def _readable(self) -> None:
        while self._serving:
            mine = self.open_connections()
            self._slots.publish(mine)
            least = self._slots.least_of_others()
            if least is not None and mine > least:
                now = self._loop.time()
                if self._waiting_since is None:
                    self._waiting_since = now
                if now - self._waiting_since < PATIENCE_S:
                    self._step_aside()
                    return
            try:
                conn, _address = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                self._waiting_since = None  # nothing pending (another worker took it)
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                # e.g. out of file descriptors: look again later rather than spin
                log.warning("accepting a connection failed: %s", exc)
                self._step_aside()
                return
            self._waiting_since = None
            conn.setblocking(False)
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = self._loop.create_task(self._connect(conn))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)
            self._slots.publish(mine + 1)

    def _step_aside(self) -> None:
        self._loop.remove_reader(self._sock.fileno())
        if self._retry is None:
            self._retry = self._loop.call_later(RETRY_S, self._resume)

    def _resume(self) -> None:
        self._retry = None
        if self._serving:
            self._loop.add_reader(self._sock.fileno(), self._readable)

    def _protocol(self) -> asyncio.BaseProtocol:
        """The server's protocol for a new connection, which publishes this worker's count
        as soon as the connection is lost (a protocol replaced later on, as by a websocket
        upgrade, is counted by the periodic refresh instead)."""
        protocol = self._factory()
        lost = protocol.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            lost(exc)
            if self._serving:
                self._slots.publish(self.open_connections())

        protocol.connection_lost = connection_lost  # type: ignore[method-assign]
        return protocol

    async def _connect(self, conn: socket.socket) -> None:
        try:
            transport, _protocol = await self._loop.connect_accepted_socket(self._protocol, conn)
        except OSError as exc:
            log.warning("setting up an accepted connection failed: %s", exc)
            conn.close()
            return
        self._transports.add(transport)

    def close(self) -> None:
        """Stop accepting (connections already open stay, as with asyncio.Server)."""
        if not self._serving:
            return
        self._serving = False
        with contextlib.suppress(ValueError, OSError):  # the socket may be closed already
            self._loop.remove_reader(self._sock.fileno())
        if self._retry is not None:
            self._retry.cancel()
        self._publisher.cancel()
        self._slots.close()
        if not self._closed.done():
            self._closed.set_result(None)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        """The loop this server accepts on."""
        return self._loop

    def is_serving(self) -> bool:
        """Whether it still accepts connections."""
        return self._serving

    async def start_serving(self) -> None:
        """It serves from creation on (as create_server's default)."""

    async def serve_forever(self) -> None:
        """Wait until closed."""
        await asyncio.shield(self._closed)

    async def wait_closed(self) -> None:
        """Wait until closed and every connection being set up is set up."""
        await asyncio.shield(self._closed)
        if self._connecting:
            await asyncio.gather(*self._connecting, return_exceptions=True)


def slots_from_env() -> Slots | None:
    """This worker's view of the main process's slot file, if one is handed over."""
    path = os.environ.get(SLOTS_ENV)
    if not path:
        return None
    try:
        return Slots(Path(path))
    except (OSError, ValueError) as exc:
        log.warning("connections not balanced over workers: %s: %s", path, exc)
        return None


def _balancing(base: type[asyncio.AbstractEventLoop]) -> type[asyncio.AbstractEventLoop]:
    """`base` with `create_server(sock=...)` answered by a BalancedServer."""

    class BalancingLoop(base):  # type: ignore[valid-type,misc]
        async def create_server(
            self, protocol_factory: Callable[[], asyncio.BaseProtocol], *args: Any, **kwargs: Any
        ) -> asyncio.AbstractServer:
            sock = kwargs.get("sock")
            if sock is not None and not args and kwargs.get("ssl") is None:
                slots = slots_from_env()
                if slots is not None:
                    backlog = kwargs.get("backlog") or 100
                    return BalancedServer(self, sock, protocol_factory, slots, backlog)
            server: asyncio.AbstractServer = await super().create_server(
                protocol_factory, *args, **kwargs
            )
            return server

    return BalancingLoop


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvicorn's `loop` hook (a loop factory named by import string): uvloop's loop
    (asyncio's without uvloop) that balances accepted connections."""
    try:
        import uvloop
    except ImportError:
        return _balancing(asyncio.SelectorEventLoop)()
    return _balancing(uvloop.Loop)()


__all__ = [
    "LOOP_FACTORY",
    "PATIENCE_S",
    "SLOTS_ENV",
    "BalancedServer",
    "Slots",
    "create_slots",
    "new_event_loop",
    "slots_from_env",
]
