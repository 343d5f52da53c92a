"""GraphQL-shaped HTTP error responses: every transport-level error a client sees."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

from keyart.errors import (
    BadRequest,
    ClientError,
    Forbidden,
    KeyartError,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    RateLimited,
    ServiceError,
    Unauthenticated,
)

REQUEST_ID_HEADER = "X-Request-Id"
# HTTP status per error class of keyart/errors.py (the nearest class in the tree wins):
# client errors are 4xx, service errors 503, anything else 500
HTTP_STATUS: dict[type[KeyartError], int] = {
    ClientError: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    PayloadTooLarge: 413,
    RateLimited: 429,
    ServiceError: 503,
}
INTERNAL_STATUS = 500
# how long a client refused by a full queue waits before retrying, in seconds
OVERLOADED_RETRY_AFTER_S = 1


def error_body(code: str, message: str, request_id: str | None = None) -> dict[str, object]:
    """`{"errors": [{"message", "extensions": {"code", "requestId"}}]}` of one error."""
    extensions: dict[str, object] = {"code": code}
    if request_id is not None:
        extensions["requestId"] = request_id
    return {"errors": [{"message": message, "extensions": extensions}]}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An HTTP error answered like a GraphQL response: the status, a JSON body with one
    error carrying `code` (and the request id), `X-Request-Id` and any extra headers."""
    response = Response(
        orjson.dumps(error_body(code, message, request_id)),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )
    if request_id is not None:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


def http_status(exc: KeyartError) -> int:
    """The HTTP status answering `exc` when it refuses a whole request."""
    if isinstance(exc, BadRequest):
        return exc.status  # not JSON (400), a method other than GET and POST (405), …
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return INTERNAL_STATUS


def http_headers(exc: KeyartError) -> dict[str, str]:
    """Extra headers of the answer to `exc`: when to retry after a refusal for load."""
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after_s)}
    if isinstance(exc, Overloaded):
        return {"Retry-After": str(OVERLOADED_RETRY_AFTER_S)}
    return {}


def keyart_error_response(exc: KeyartError, *, request_id: str | None = None) -> Response:
    """The GraphQL-shaped HTTP answer of a keyart error refusing a whole request (its
    status, code and headers from the error tree; its message only when public)."""
    message = str(exc) if exc.public else "the request could not be answered"
    return error_response(
        http_status(exc), exc.code, message, request_id=request_id, headers=http_headers(exc)
    )


__all__ = [
    "HTTP_STATUS",
    "REQUEST_ID_HEADER",
    "error_body",
    "error_response",
    "http_headers",
    "http_status",
    "keyart_error_response",
]
