"""`keyart serve`'s start: the checks made before anything is built (a free port,
published data), logging, then one server process or uvicorn's supervisor of N workers.

It imports only what those need, not the app (GraphQL schema, backends, DuckDB, Arrow), so
that with several workers the supervising main process, which never serves a request,
stays small; keyart.server re-exports these names.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

from keyart.config import ApiSettings
from keyart.errors import ConfigError, SnapshotError
from keyart.store.files import read_announcement

log = logging.getLogger("keyart.server")


def check_port_free(host: str, port: int) -> None:
    """ConfigError naming the address when nothing could listen on host:port (another
    server holds it), so that a busy port is reported before anything else happens."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}") from exc
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # as uvicorn binds: a port in TIME_WAIT after a previous run is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; is another server "
                "running there? Stop it or choose another port (--port N, make demo PORT=N)"
            ) from exc


DATA_POLL_S = 1.0
DATA_WAIT_LOG_S = 30.0


def await_data(
    settings: ApiSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Return once a snapshot is published; SnapshotError naming the warehouse at once, or
    with `wait_for_data` when none appears within `wait_for_data_timeout_s` (0: no limit)."""
    started = next_note = clock()
    while True:
        try:
            read_announcement(settings.snapshots)
            return
        except SnapshotError as exc:
            problem = exc
        waited = clock() - started
        timeout = settings.wait_for_data_timeout_s
        if not settings.wait_for_data or (timeout > 0 and waited >= timeout):
            ingest = f"keyart ingest --raw RAW_DIR --warehouse {settings.warehouse}"
            raise SnapshotError(
                f"warehouse {settings.warehouse} has no published data ({problem})"
                + (f" after waiting {waited:.0f}s" if settings.wait_for_data else "")
                + f"; run `{ingest}` first"
                + ("" if settings.wait_for_data else ", or serve with --wait-for-data")
            ) from problem
        if clock() >= next_note:
            log.info("waiting for published data in %s (%s)", settings.snapshots, problem)
            next_note = clock() + DATA_WAIT_LOG_S
        sleep(DATA_POLL_S)


def configure_logging(workers: int = 1) -> None:
    """The server's log format and levels (in the main process and in each worker); with
    several workers each line names its process."""
    process = " [%(process)d]" if workers > 1 else ""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s{process} %(levelname)s %(name)s %(message)s"
    )
    # Alembic announces each of its plugins at INFO whenever the state store is opened
    logging.getLogger("alembic").setLevel(logging.WARNING)


def serve(settings: ApiSettings) -> None:
    """Run the API with uvicorn until interrupted, in `settings.workers` processes; first
    make sure there is published data to serve (see `await_data`)."""
    import uvicorn

    configure_logging(settings.workers)
    check_port_free(settings.host, settings.port)
    await_data(settings)
    if settings.workers > 1:
        from keyart.workers import serve_workers

        serve_workers(settings)  # the app is built in each worker, never here
        return
    from keyart.server import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        lifespan="on",
    )


__all__ = [
    "DATA_POLL_S",
    "DATA_WAIT_LOG_S",
    "await_data",
    "check_port_free",
    "configure_logging",
    "serve",
]
