"""Request ids: one per HTTP request (the client's X-Request-Id when sane), put on the
response and on every error, so that a client's report finds the server's log lines."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keyart.http_errors import REQUEST_ID_HEADER

# an incoming id is kept when it is short and made of characters safe in logs and headers
SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_STATE_KEY = "request_id"
_HEADER = REQUEST_ID_HEADER.lower().encode("latin-1")


def new_request_id() -> str:
    """A fresh random request id."""
    return uuid.uuid4().hex


def incoming_request_id(scope: Scope) -> str | None:
    """The client's X-Request-Id when it is sane, else None."""
    for name, value in scope.get("headers") or ():
        if name == _HEADER:
            text = value.decode("latin-1")
            return text if SANE_ID.match(text) else None
    return None


def request_id_of(scope: Scope) -> str:
    """The id of the request of `scope`, chosen once (by RequestIdMiddleware or here)."""
    state = scope.setdefault("state", {})
    rid = state.get(_STATE_KEY)
    if rid is None:
        rid = state[_STATE_KEY] = incoming_request_id(scope) or new_request_id()
    return str(rid)


class RequestIdMiddleware:
    """Gives every HTTP request an id and answers it in the X-Request-Id header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if REQUEST_ID_HEADER not in headers:
                    headers[REQUEST_ID_HEADER] = rid
            await send(message)

        await self.app(scope, receive, send_with_id)


__all__ = ["SANE_ID", "RequestIdMiddleware", "new_request_id", "request_id_of"]
