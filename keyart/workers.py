"""`keyart serve --workers N`: the API in N uvicorn worker processes sharing one port.

uvicorn's multi-process supervisor binds the socket once, starts N spawned workers that
accept on it, and replaces a worker that dies. Each worker builds its own app from the
settings the main process resolved (flags over KEYART_* variables), handed over in one
environment variable so that every worker serves exactly the same configuration.

Per worker: the event loop, the snapshot consumer and its poller, the routing poller, the
in-memory caches and rate limits, admission control, websockets and /metrics. Shared:
the port, the warehouse and its DuckDB serving copy (one file, opened read-only by each
worker and built once under its file lock), the memory-mapped snapshot files, the state
store (alert evaluations are leased there, so one worker runs each) and a Redis cache or
rate limit when configured. New connections go to the worker holding the fewest
(keyart/balanced_accept.py).
"""

from __future__ import annotations

import base64
import logging
import os
import pickle
import tempfile
from pathlib import Path

from starlette.applications import Starlette

from keyart.balanced_accept import LOOP_FACTORY, SLOTS_ENV, create_slots
from keyart.config import ApiSettings
from keyart.errors import ConfigError

log = logging.getLogger(__name__)

# the main process's resolved settings, for its workers (an internal hand-over, not a
# setting users write: it holds a pickled ApiSettings)
SETTINGS_ENV = "KEYART_SERVE_WORKER_SETTINGS"
APP_FACTORY = "keyart.workers:worker_app"


def encode_settings(settings: ApiSettings) -> str:
    """Settings as the text of SETTINGS_ENV."""
    return base64.b64encode(pickle.dumps(settings)).decode("ascii")


def decode_settings(text: str) -> ApiSettings:
    """The settings SETTINGS_ENV holds; ConfigError when it holds anything else."""
    try:
        # written by this process's own parent (serve_workers), never by a client
        settings = pickle.loads(base64.b64decode(text.encode("ascii"), validate=True))
    except Exception as exc:
        raise ConfigError(f"{SETTINGS_ENV} does not hold server settings: {exc}") from exc
    if not isinstance(settings, ApiSettings):
        raise ConfigError(f"{SETTINGS_ENV} holds a {type(settings).__name__}, not ApiSettings")
    return settings


def worker_app() -> Starlette:
    """The app of one worker process (uvicorn's app factory, called in each worker)."""
    from keyart.launch import configure_logging
    from keyart.server import create_app

    text = os.environ.get(SETTINGS_ENV)
    if text is None:
        raise ConfigError(f"{SETTINGS_ENV} is not set: start workers with `keyart serve`")
    settings = decode_settings(text)
    configure_logging(settings.workers)
    log.info("worker %d serving on %s:%d", os.getpid(), settings.host, settings.port)
    return create_app(settings)


def serve_workers(settings: ApiSettings) -> None:
    """Run `settings.workers` worker processes on the settings' address until interrupted."""
    import uvicorn

    if settings.workers > 1 and settings.cache_url is None:
        log.warning(
            "%d workers with in-memory caches and rate limits: each worker keeps its own, "
            "so a key may make up to %d× its rate limit; set KEYART_CACHE_URL to share them",
            settings.workers,
            settings.workers,
        )
    # spawned workers inherit the environment as it is when they start
    os.environ[SETTINGS_ENV] = encode_settings(settings)
    shm = Path("/dev/shm")  # memory, not disk, when the host has it
    with tempfile.TemporaryDirectory(
        prefix="keyart-serve-", dir=shm if shm.is_dir() else None
    ) as folder:
        # the workers' open-connection counts, so that each new connection goes to the
        # least loaded worker (keyart/balanced_accept.py), not to whichever wakes first
        slots = Path(folder) / "connections"
        create_slots(slots, settings.workers)
        os.environ[SLOTS_ENV] = str(slots)
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            loop=LOOP_FACTORY,
            log_level="info",
            access_log=False,
            lifespan="on",
        )


__all__ = ["APP_FACTORY", "SETTINGS_ENV", "decode_settings", "serve_workers", "worker_app"]
