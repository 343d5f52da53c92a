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

    async def aclose(self) -> None:
        """Close what this pool built (and the primary when it owns it)."""
        others = list(self._others.values())
        self._others.clear()
        try:
            for backend in others:
                try:
                    await backend.aclose()
                except Exception:
                    # the next ones must still close: open backends keep native threads
                    log.exception("closing a backend failed")
        finally:
            if self._owns_primary:
                await self.primary.aclose()


__all__ = ["BackendPool"]
