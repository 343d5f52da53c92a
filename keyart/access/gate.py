"""The ASGI gate in front of /graphql: API key check, then the client's rate limit.

It puts the authenticated key's name in `scope["keyart.key_name"]` and its scope (read or
admin; read for anonymous callers) in `scope["keyart.key_scope"]`.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from keyart.access.ratelimit import RateLimiter
from keyart.access.verifier import KeyVerifier
from keyart.errors import KeyartError, RateLimited, ServiceError, StateError, Unauthenticated
from keyart.http_errors import error_response, http_headers, http_status
from keyart.request_id import request_id_of
from keyart.telemetry import ApiMetrics

log = logging.getLogger(__name__)

KEY_NAME = "keyart.key_name"
KEY_SCOPE = "keyart.key_scope"
NEED_KEY = "an API key is required: send Authorization: Bearer <key>"
BAD_HEADER = "the Authorization header must read: Bearer <API key>"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="keyart"'}
STATE_RETRY_AFTER_S = 5  # API keys cannot be checked: the state store is down


class AccessGate:
    """Wraps the GraphQL app: 401 without a valid key (unless anonymous reads are allowed),
    429 over the rate limit, else the request goes on with the key in its scope."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: KeyVerifier | None,
        limiter: RateLimiter,
        allow_anonymous: bool,
        metrics: ApiMetrics | None = None,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.limiter = limiter
        self.allow_anonymous = allow_anonymous
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or _is_ide_page(scope):
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"authorization")
        if header is None and scope["type"] == "websocket":
            # browsers cannot set headers on a websocket: the key comes in the
            # connection_init payload, checked by the GraphQL app's on_ws_connect
            await self.app(scope, receive, send)
            return
        if header is None:
            if not self.allow_anonymous:
                await self._refuse(scope, receive, send, Unauthenticated(NEED_KEY))
                return
            scope[KEY_SCOPE] = "read"
            client = scope.get("client")
            identity = f"ip:{client[0] if client else 'unknown'}"
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip() or self.verifier is None:
                await self._refuse(scope, receive, send, Unauthenticated(BAD_HEADER))
                return
            try:
                key = await self.verifier.verify(token.strip())
            except StateError:
                log.exception("API keys cannot be checked")
                await self._refuse(
                    scope,
                    receive,
                    send,
                    ServiceError("API keys cannot be checked right now; retry shortly"),
                    {"Retry-After": str(STATE_RETRY_AFTER_S)},
                )
                return
            if key is None:
                await self._refuse(
                    scope, receive, send, Unauthenticated("the API key is unknown or revoked")
                )
                return
            scope[KEY_NAME] = key.name
            scope[KEY_SCOPE] = key.scope
            identity = f"key:{key.id}"
        if self.limiter.enabled:
            wait = await self.limiter.retry_after(identity)
            if wait is not None:
                limited = RateLimited(
                    f"rate limit {self.limiter.rate} exceeded; retry in {wait} s", wait
                )
                await self._refuse(scope, receive, send, limited)
                return
        await self.app(scope, receive, send)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        exc: KeyartError,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer `exc` (status and code from the error tree; every message here is
        written for the client) instead of passing the request on."""
        code = exc.code
        if self.metrics is not None:
            self.metrics.refusals.labels(code).inc()
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": code})
            return
        headers = {**http_headers(exc), **(headers or {})}
        if isinstance(exc, Unauthenticated):
            headers.update(CHALLENGE)
        response = error_response(
            http_status(exc), code, str(exc), request_id=request_id_of(scope), headers=headers
        )
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _is_ide_page(scope: Scope) -> bool:
    """A browser loading GraphiQL's page (it holds no data; its requests carry the key)."""
    if scope["type"] != "http" or scope.get("method") != "GET":
        return False
    query_string = scope.get("query_string", b"")
    if b"query=" in query_string or b"extensions=" in query_string:
        return False
    accept = _header(scope, b"accept") or ""
    return "text/html" in accept


__all__ = ["KEY_NAME", "KEY_SCOPE", "AccessGate"]
