"""One access-log line per HTTP request (method, path, GraphQL operation, status, duration,
API key name) on logger `keyart.access`."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyart.errors import ConfigError

log = logging.getLogger("keyart.access")

# scope keys other parts fill in: the GraphQL view names the operation, authentication the key
OPERATION_KEY = "keyart.operation"
KEY_NAME_KEY = "keyart.key_name"
LEVELS = ("DEBUG", "INFO", "WARNING")


def parse_level(name: str) -> int:
    """The logging level of an access-log level name; ConfigError for any other name."""
    upper = name.strip().upper()
    if upper not in LEVELS:
        raise ConfigError(f"access log level {name!r} is not one of {', '.join(LEVELS)} (any case)")
    level: int = logging.getLevelName(upper)
    return level


class AccessLog:
    """ASGI middleware logging each HTTP request once its response is complete."""

    def __init__(self, app: ASGIApp, level: int = logging.INFO) -> None:
        self.app = app
        self.level = level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(self.level):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            log.log(
                self.level,
                "%s %s op=%s status=%d %.1fms key=%s",
                scope.get("method", "-"),
                scope.get("path", "-"),
                scope.get(OPERATION_KEY) or "-",
                status,
                (time.perf_counter() - started) * 1000.0,
                scope.get(KEY_NAME_KEY) or "-",
            )


__all__ = ["KEY_NAME_KEY", "LEVELS", "OPERATION_KEY", "AccessLog", "parse_level"]
