"""Checks bearer tokens against the state store, remembering answers for a few seconds."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict

from keyart.state.keys import ApiKey, KeyStore


class KeyVerifier:
    """`verify(token)` → the active key or None; answers (also refusals) are cached for
    `ttl_s`, so a revocation takes effect within that many seconds."""

    def __init__(self, keys: KeyStore, ttl_s: float, max_entries: int = 10_000) -> None:
        self.keys = keys
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        # keyed by a digest so that clear-text secrets are not kept in memory
        self._cache: OrderedDict[bytes, tuple[ApiKey | None, float]] = OrderedDict()

    async def verify(self, token: str) -> ApiKey | None:
        """The key of `token` if it is valid now; StateError when the store cannot answer."""
        digest = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        key = await asyncio.to_thread(self.keys.verify, token)
        self._cache[digest] = (key, now + self.ttl_s)
        self._cache.move_to_end(digest)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return key


__all__ = ["KeyVerifier"]
