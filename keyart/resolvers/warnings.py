"""Per-request warnings: facts about an answer a client should know that are not errors
(sent as `extensions.warnings`, each `{code, message}`, in the order first raised)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ResponseWarning:
    """One warning: a stable machine-readable code and a message for people."""

    code: str
    message: str


class Warnings:
    """The warnings of one request; a warning raised twice (e.g. by every asset of a title
    page asking the same window) is kept once."""

    def __init__(self) -> None:
        self._items: dict[ResponseWarning, None] = {}

    def add(self, code: str, message: str) -> None:
        """Record a warning unless the same one is already recorded."""
        self._items.setdefault(ResponseWarning(code, message), None)

    def __iter__(self) -> Iterator[ResponseWarning]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def as_json(self) -> list[dict[str, str]]:
        """The warnings as the response extension lists them."""
        return [{"code": w.code, "message": w.message} for w in self._items]


__all__ = ["ResponseWarning", "Warnings"]
