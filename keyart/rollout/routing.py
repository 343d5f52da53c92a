"""Feature-flag routing: which backend answers a title's or an asset's metrics.

A rule set is a list of rules and a default; the first rule whose every condition holds
picks the backend. Conditions (all optional, all must hold): `asset_types` (the asset's
type; for a title's metrics the request must filter on asset types within the list),
`title_ids`, `keys` (API key names), `key_groups` (names of groups declared in the rule
set's `groups`), `percent` (0-100 of a stable hash of the key name or title id, per
`hash_by`). The JSON form is documented in docs/rollout.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from keyart.errors import BadUserInput

BACKENDS = ("embedded", "druid", "legacy")
HashBy = Literal["key", "title"]
_RULE_FIELDS = {"backend", "asset_types", "title_ids", "keys", "key_groups", "percent", "hash_by"}
_SET_FIELDS = {"rules", "default", "groups"}


@dataclass(frozen=True, slots=True)
class Target:
    """What a rule looks at for one entity of one request."""

    title_id: str
    asset_type: str | None  # the asset's type; None for a title's metrics
    filter_asset_types: tuple[str, ...] | None = None  # the request's asset-type filter
    key_name: str | None = None  # the API key; None when anonymous


@dataclass(frozen=True, slots=True)
class Rule:
    """One routing rule: a backend and the conditions that send a target to it."""

    backend: str
    asset_types: frozenset[str] | None = None
    title_ids: frozenset[str] | None = None
    keys: frozenset[str] | None = None
    key_groups: tuple[str, ...] | None = None
    percent: float | None = None
    hash_by: HashBy = "key"

    def matches(self, target: Target, groups: Mapping[str, frozenset[str]]) -> bool:
        """Whether every condition of the rule holds for `target`."""
        if self.asset_types is not None:
            types = (
                (target.asset_type,) if target.asset_type is not None else target.filter_asset_types
            )
            if not types or not set(types) <= self.asset_types:
                return False
        if self.title_ids is not None and target.title_id not in self.title_ids:
            return False
        if self.keys is not None and target.key_name not in self.keys:
            return False
        if self.key_groups is not None and not any(
            target.key_name in groups.get(g, frozenset()) for g in self.key_groups
        ):
            return False
        if self.percent is not None:
            subject = (target.key_name or "") if self.hash_by == "key" else target.title_id
            if bucket(subject) >= self.percent * 100:
                return False
        return True


def bucket(subject: str) -> int:
    """A stable bucket 0..9999 of a key name or title id (same on every server)."""
    return int.from_bytes(hashlib.sha256(subject.encode()).digest()[:8], "big") % 10_000


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules tried in order and the backend of everything no rule matches (None: the
    server's configured backend)."""

    rules: tuple[Rule, ...] = ()
    default: str | None = None
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def choose(self, target: Target, fallback: str) -> str:
        """The backend for `target`: the first matching rule's, else the default."""
        for rule in self.rules:
            if rule.matches(target, self.groups):
                return rule.backend
        return self.default or fallback

    @property
    def backends(self) -> set[str]:
        """Every backend the set can route to (besides the server's own)."""
        named = {r.backend for r in self.rules}
        return named | ({self.default} if self.default else set())

    @classmethod
    def parse(cls, text: str) -> RuleSet:
        """A rule set from its JSON text; BadUserInput naming what is wrong."""
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise BadUserInput(f"routing rules are not valid JSON: {exc}") from exc
        return cls.from_json(raw)

    @classmethod
    def from_json(cls, raw: Any) -> RuleSet:
        """A rule set from decoded JSON; BadUserInput naming what is wrong."""
        if not isinstance(raw, dict):
            raise BadUserInput("routing rules must be a JSON object with rules and default")
        unknown = set(raw) - _SET_FIELDS
        if unknown:
            raise BadUserInput(
                f"unknown routing field(s) {sorted(unknown)}; use {sorted(_SET_FIELDS)}"
            )
        default = raw.get("default")
        if default is not None:
            _backend(default, "default")
        groups_raw = raw.get("groups") or {}
        if not isinstance(groups_raw, dict):
            raise BadUserInput("groups must map a group name to a list of API key names")
        groups = {str(g): frozenset(_strings(v, f"groups.{g}")) for g, v in groups_raw.items()}
        rules_raw = raw.get("rules") or []
        if not isinstance(rules_raw, list):
            raise BadUserInput("rules must be a list")
        rules = tuple(_rule(r, i, groups) for i, r in enumerate(rules_raw))
        return cls(rules, default, groups)

    def to_json(self) -> dict[str, Any]:
        """The JSON form `parse` reads (canonical: sorted lists, no empty fields)."""
        out: dict[str, Any] = {"rules": [_rule_json(r) for r in self.rules]}
        if self.default:
            out["default"] = self.default
        if self.groups:
            out["groups"] = {g: sorted(k) for g, k in sorted(self.groups.items())}
        return out

    def text(self) -> str:
        """Canonical JSON text."""
        return json.dumps(self.to_json(), sort_keys=True)


def _backend(value: Any, where: str) -> str:
    if value not in BACKENDS:
        raise BadUserInput(f"{where}: backend must be one of {', '.join(BACKENDS)}, got {value!r}")
    return str(value)


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadUserInput(f"{where} must be a list of strings")
    return list(value)


def _rule(raw: Any, index: int, groups: Mapping[str, frozenset[str]]) -> Rule:
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise BadUserInput(f"{where} must be an object")
    unknown = set(raw) - _RULE_FIELDS
    if unknown:
        raise BadUserInput(
            f"{where}: unknown field(s) {sorted(unknown)}; use {sorted(_RULE_FIELDS)}"
        )
    backend = _backend(raw.get("backend"), where)

    def opt(name: str) -> frozenset[str] | None:
        return None if raw.get(name) is None else frozenset(_strings(raw[name], f"{where}.{name}"))

    key_groups = (
        None
        if raw.get("key_groups") is None
        else tuple(_strings(raw["key_groups"], f"{where}.key_groups"))
    )
    for g in key_groups or ():
        if g not in groups:
            raise BadUserInput(f"{where}: key group {g!r} is not declared in groups")
    percent = raw.get("percent")
    if percent is not None and (
        isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100
    ):
        raise BadUserInput(f"{where}.percent must be a number within 0..100, got {percent!r}")
    hash_by = raw.get("hash_by", "key")
    if hash_by not in ("key", "title"):
        raise BadUserInput(f"{where}.hash_by must be key or title, got {hash_by!r}")
    return Rule(
        backend,
        opt("asset_types"),
        opt("title_ids"),
        opt("keys"),
        key_groups,
        None if percent is None else float(percent),
        hash_by,
    )


def _rule_json(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"backend": rule.backend}
    for name in ("asset_types", "title_ids", "keys"):
        value = getattr(rule, name)
        if value is not None:
            out[name] = sorted(value)
    if rule.key_groups is not None:
        out["key_groups"] = list(rule.key_groups)
    if rule.percent is not None:
        out["percent"] = rule.percent
        out["hash_by"] = rule.hash_by
    return out


def describe(rules: Sequence[Rule]) -> list[str]:
    """One line per rule, for `keyart flags list`."""
    lines = []
    for i, r in enumerate(rules):
        conds = [f"{k}={v}" for k, v in _rule_json(r).items() if k != "backend"]
        lines.append(f"{i + 1}. {' and '.join(conds) or 'always'} -> {r.backend}")
    return lines


__all__ = ["BACKENDS", "Rule", "RuleSet", "Target", "bucket", "describe"]
