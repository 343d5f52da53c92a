"""The HTTP response cache: whole GraphQL answers of identical requests over the same data."""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from typing import Any


class ResponseCache:
    """Whole GraphQL results of successful operations, keyed by document, variables,
    operation name and data version: an identical request over the same data skips
    execution entirely. In-process, LRU-bounded, with a TTL."""

    def __init__(self, max_entries: int = 1024, ttl_s: float = 3600.0) -> None:
        self._max_entries = max_entries
        self._ttl = ttl_s
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(
        query: str | None,
        variables: dict[str, Any] | None,
        operation: str | None,
        data_version: str,
    ) -> str | None:
        """The key of one request, or None when it cannot be keyed (no query text or
        variables that are not plain JSON)."""
        if not query:
            return None
        try:
            canonical = json.dumps(
                [data_version, operation, query, variables], sort_keys=True, separators=(",", ":")
            )
        except (TypeError, ValueError):
            return None
        return hashlib.sha256(canonical.encode()).hexdigest()

    def get(self, key: str) -> Any | None:
        """The stored result, or None when absent or expired."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: str, result: Any) -> None:
        """Store a result, evicting the least recently used beyond the bound."""
        self._entries[key] = (time.monotonic() + self._ttl, result)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["ResponseCache"]
