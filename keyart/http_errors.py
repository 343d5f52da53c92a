"""GraphQL-shaped transport errors: a status, a code and a message about the client's request."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """`{"errors":[{"message", "extensions":{"code","requestId"}}]}` with `status`."""
    extensions: dict[str, str] = {"code": code}
    if request_id is not None:
        extensions["requestId"] = request_id
    body = orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})
    return Response(body, status_code=status, headers=headers, media_type="application/json")


__all__ = ["error_response"]
