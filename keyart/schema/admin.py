"""Admin fields: operational views open to admin API keys only."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import strawberry

from keyart.access.permissions import AdminOnly
from keyart.errors import StateError
from keyart.resolvers.context import RequestContext

Info = strawberry.Info[RequestContext, None]
log = logging.getLogger(__name__)


@strawberry.type(description="An API key as listed to admins; the secret is never shown.")
class ApiKey:
    id: strawberry.ID
    name: str
    scope: str = strawberry.field(description="read or admin")
    created_at: datetime
    revoked_at: datetime | None


async def api_keys(info: Info, include_revoked: bool = False) -> list[ApiKey] | None:
    """Every API key (active ones unless includeRevoked), oldest first; null with a
    FORBIDDEN error for other keys, so the rest of an answer survives."""
    keys = info.context.keys
    if keys is None:
        raise StateError("API keys are not available on this server")
    try:
        listed = await asyncio.to_thread(keys.list, include_revoked=include_revoked)
    except StateError as exc:
        # the client gets no database text; the log keeps it
        log.error("apiKeys: %s", exc)
        raise StateError("the API keys cannot be read right now") from exc
    return [
        ApiKey(
            id=strawberry.ID(k.id),
            name=k.name,
            scope=k.scope,
            created_at=k.created_at,
            revoked_at=k.revoked_at,
        )
        for k in listed
    ]


api_keys_field = strawberry.field(
    resolver=api_keys,
    permission_classes=[AdminOnly],
    description="API keys without their secrets (admin keys only).",
)

__all__ = ["ApiKey", "api_keys_field"]
