"""Request bodies of /graphql: read with a size limit while streaming, then checked to be
one GraphQL request (a JSON object) before anything parses the query."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from keyart.errors import BadRequest, PayloadTooLarge


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than the limit of {limit:,} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused as soon as it is known to exceed `limit` bytes: by its
    Content-Length before reading, else while it streams in (nothing past the limit is
    kept). Starlette keeps the body on `request` for later readers."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise BadRequest(f"Content-Length {declared[:32]!r} is not a number") from None
        if size > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # what Request.body() returns from now on
    return body


def json_request(body: bytes) -> dict[str, Any]:
    """The GraphQL request a JSON body holds; BadRequest when it is not a JSON object
    (batches of operations are not supported)."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(payload, dict):
        kind = _KINDS.get(type(payload), "null")
        raise BadRequest(f"the request body must be a JSON object with a `query`, not {kind}")
    return payload


_KINDS = {
    list: "a list (batched operations are not supported)",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


def check_query_params(request: Request, limit: int) -> None:
    """A GET request's parameters: at most `limit` bytes in all, and `variables` and
    `extensions`, when given, JSON objects."""
    if len(request.scope.get("query_string", b"")) > limit:
        raise PayloadTooLarge(f"the query string is longer than the limit of {limit:,} bytes")
    for name in ("variables", "extensions"):
        raw = request.query_params.get(name)
        if not raw:
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRequest(f"the `{name}` parameter is not valid JSON") from None
        if value is not None and not isinstance(value, dict):
            raise BadRequest(f"the `{name}` parameter must be a JSON object")


__all__ = ["check_query_params", "json_request", "read_body"]
