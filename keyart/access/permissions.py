"""Strawberry permissions of admin fields: only a request made with an admin key passes."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from keyart.access.gate import KEY_SCOPE
from keyart.errors import Forbidden


class AdminOnly(BasePermission):
    """Grants a field to admin keys; anything else gets a FORBIDDEN error on that field."""

    message = "this field needs an admin API key"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        context = info.context
        # an admin answer must never be replayed from the response cache to another caller
        context.extras["uncacheable"] = True
        scope = getattr(context.request, "scope", None) or {}
        return bool(scope.get(KEY_SCOPE) == "admin")

    def on_unauthorized(self) -> None:
        raise Forbidden(self.message)


__all__ = ["AdminOnly"]
