"""GraphQL-shaped HTTP error responses: every transport-level error a client sees."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

REQUEST_ID_HEADER = "X-Request-Id"


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


__all__ = ["REQUEST_ID_HEADER", "error_body", "error_response"]
