"""The backends one server can answer from: its own, plus the ones routing rules, shadow
traffic or stackDiff name, each built on first use and closed at shutdown."""

from __future__ import annotations

import logging
from collections.abc import Callable

from keyart.backends.base import Backend

log = logging.getLogger(__name__)


class BackendPool:
    """Backends by name; `primary` is the server's configured one (owned by the caller when
    `owns_primary` is False)."""

    def __init__(
        self, primary: Backend, build: Callable[[str], Backend], *, owns_primary: bool = True
    ) -> None:
        self.primary = primary
        self.primary_name = str(getattr(primary, "name", type(primary).__name__))
        self._build = build
        self._owns_primary = owns_primary
        self._others: dict[str, Backend] = {}

    def get(self, name: str | None) -> Backend:
        """The backend called `name` (the primary for None); ConfigError for an unknown name."""
        if name is None or name == self.primary_name:
            return self.primary
        backend = self._others.get(name)
        if backend is None:
            log.info("opening backend %s for routing, shadow traffic or stackDiff", name)
            backend = self._others[name] = self._build(name)
        return backend

    def add(self, name: str, backend: Backend) -> None:
        """Use an already built backend for `name` (closed by its owner, not here)."""
        self._others[name] = backend

    async def aclose(self, keep: frozenset[str] = frozenset()) -> None:
        """Close what this pool built (and the primary when it owns it)."""
        for name, backend in list(self._others.items()):
            if name not in keep:
                await backend.aclose()
        self._others.clear()
        if self._owns_primary:
            await self.primary.aclose()


__all__ = ["BackendPool"]
