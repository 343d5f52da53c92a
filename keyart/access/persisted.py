"""Persisted queries: Apollo's automatic persisted queries (APQ) and a safelist mode that
runs only the operations of an Apollo persisted-query manifest.

APQ answers exactly as Apollo Server does, so Apollo Client's PersistedQueryLink works
unchanged: a hash it has not seen → 200 with the error message `PersistedQueryNotFound`
(code PERSISTED_QUERY_NOT_FOUND), and the client retries with the query text, which is
checked against the hash and kept in a bounded in-memory cache.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyart.errors import ConfigError

MANIFEST_FORMAT = "apollo-persisted-query-manifest"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Apollo Server's headers for APQ misses: the client retries, and nobody may cache the miss
NO_CACHE = {"Cache-Control": "private, no-cache, must-revalidate"}


@dataclass
class PersistedQueryRefusal(Exception):
    """A request the persisted-query rules refuse, and how to answer it."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Manifest:
    """The operations of an Apollo persisted-query manifest: id → body."""

    operations: Mapping[str, str]
    bodies: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read and check a manifest file; ConfigError naming what is wrong."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"safelist {path}: cannot read a JSON manifest: {exc}") from exc
        if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
            raise ConfigError(f'safelist {path}: "format" must be "{MANIFEST_FORMAT}"')
        if raw.get("version") != 1:
            raise ConfigError(f'safelist {path}: only "version": 1 is supported')
        operations = raw.get("operations")
        if not isinstance(operations, list):
            raise ConfigError(f'safelist {path}: "operations" must be a list')
        by_id: dict[str, str] = {}
        for n, op in enumerate(operations):
            if not (
                isinstance(op, dict)
                and isinstance(op.get("id"), str)
                and isinstance(op.get("body"), str)
                and op["id"]
            ):
                raise ConfigError(f"safelist {path}: operation {n} needs a string id and body")
            if op.get("type", "query") != "query":
                raise ConfigError(
                    f"safelist {path}: operation {op['id']} is a {op.get('type')}; "
                    "this API serves queries only"
                )
            if by_id.setdefault(op["id"], op["body"]) != op["body"]:
                raise ConfigError(f"safelist {path}: id {op['id']} has two different bodies")
        return cls(by_id, frozenset(by_id.values()))


class QueryTexts:
    """An LRU map sha256 → query text bounded by the total size of the texts."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._size = 0

    def get(self, sha: str) -> str | None:
        """The text of `sha`, marked as recently used."""
        text = self._texts.get(sha)
        if text is not None:
            self._texts.move_to_end(sha)
        return text

    def put(self, sha: str, text: str) -> None:
        """Keep `text` (a text larger than the whole budget is not kept)."""
        size = len(text.encode())
        if size > self.max_bytes or sha in self._texts:
            return
        self._texts[sha] = text
        self._size += size
        while self._size > self.max_bytes:
            _, dropped = self._texts.popitem(last=False)
            self._size -= len(dropped.encode())

    def __len__(self) -> int:
        return len(self._texts)


class PersistedQueries:
    """Turns a request's query and `extensions` into the query text to run, or refuses."""

    def __init__(self, *, apq: bool, cache_bytes: int, manifest: Manifest | None) -> None:
        self.apq = apq
        self.manifest = manifest
        self.texts = QueryTexts(cache_bytes)

    def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The query text to execute; PersistedQueryRefusal when the rules refuse it."""
        persisted = None if extensions is None else extensions.get("persistedQuery")
        if persisted is None:
            if (
                self.manifest is not None
                and query is not None
                and query not in self.manifest.bodies
            ):
                raise PersistedQueryRefusal(
                    403, "QUERY_NOT_IN_SAFELIST",
                    "this server runs only the operations of its safelist; send one by its id "
                    "in extensions.persistedQuery",
                )  # fmt: skip
            return query
        if self.manifest is None and not self.apq:
            raise PersistedQueryRefusal(
                200, "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported", NO_CACHE
            )
        if not isinstance(persisted, Mapping):
            raise PersistedQueryRefusal(
                400, "BAD_REQUEST", "extensions.persistedQuery must be an object"
            )
        if persisted.get("version") != 1:
            raise PersistedQueryRefusal(400, "BAD_REQUEST", "Unsupported persisted query version")
        sha = persisted.get("sha256Hash")
        if not isinstance(sha, str) or not sha:
            raise PersistedQueryRefusal(
                400, "BAD_REQUEST", "extensions.persistedQuery.sha256Hash must be a string"
            )
        if self.manifest is not None:
            return self._from_manifest(self.manifest, sha, query)
        if not _SHA256.match(sha):
            raise PersistedQueryRefusal(
                400, "BAD_REQUEST", "persistedQuery.sha256Hash must be 64 lowercase hex digits"
            )
        if query is None:
            known = self.texts.get(sha)
            if known is None:
                raise PersistedQueryRefusal(
                    200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", NO_CACHE
                )
            return known
        if hashlib.sha256(query.encode()).hexdigest() != sha:
            raise PersistedQueryRefusal(400, "BAD_REQUEST", "provided sha does not match query")
        self.texts.put(sha, query)
        return query

    @staticmethod
    def _from_manifest(manifest: Manifest, op_id: str, query: str | None) -> str:
        body = manifest.operations.get(op_id)
        if body is None:
            raise PersistedQueryRefusal(
                404, "PERSISTED_QUERY_NOT_IN_LIST",
                f"operation {op_id[:80]!r} is not in this server's safelist",
            )  # fmt: skip
        if query is not None and query != body:
            raise PersistedQueryRefusal(
                400, "BAD_REQUEST", f"the query text differs from safelisted operation {op_id!r}"
            )
        return body


def persisted_id(payload: Mapping[str, Any]) -> str | None:
    """The persisted-query id a request payload names, if any (for response-cache keys)."""
    extensions = payload.get("extensions")
    if not isinstance(extensions, Mapping):
        return None
    persisted = extensions.get("persistedQuery")
    if not isinstance(persisted, Mapping):
        return None
    sha = persisted.get("sha256Hash")
    return sha if isinstance(sha, str) else None


__all__ = ["Manifest", "PersistedQueries", "PersistedQueryRefusal", "QueryTexts", "persisted_id"]
