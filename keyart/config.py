"""Settings for the ETL and the API, built by constructors or read from KEYART_* variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, get_type_hints

from keyart.errors import ConfigError

BackendName = Literal["embedded", "druid", "legacy"]
EngineName = Literal["embedded", "spark"]


@dataclass(frozen=True, slots=True)
class EtlSettings:
    """Metric definitions and sketch precision used when building the warehouse (DESIGN §2)."""

    lg_k: int = 14
    qualify_seconds: int = 120
    engaged_seconds: int = 900
    attribution_hours: int = 24

    def __post_init__(self) -> None:
        if not 4 <= self.lg_k <= 21:
            raise ConfigError(f"lg_k must be within 4..21, got {self.lg_k}")
        if self.qualify_seconds < 0 or self.engaged_seconds < 0:
            raise ConfigError("qualify_seconds and engaged_seconds must be >= 0")
        if self.attribution_hours <= 0:
            raise ConfigError(f"attribution_hours must be > 0, got {self.attribution_hours}")


@dataclass(frozen=True, slots=True)
class GateSettings:
    """Ingest quality gates: anomalies beyond these refuse to publish a run (nothing is
    written) unless `accept_anomalies` is set. KEYART_MAX_WITHOUT_PROFILE_SHARE,
    KEYART_MIN_DAY_VOLUME_RATIO and KEYART_ACCEPT_ANOMALIES override the defaults."""

    # share of kept events (impressions and playbacks) whose member has no profile
    max_without_profile_share: float = 0.5
    # a day's kept impressions vs its baseline: the previous version's same day, else the
    # previous version's median day, else (3+ days in the run) the run's median day
    min_day_volume_ratio: float = 0.2
    accept_anomalies: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_without_profile_share <= 1.0:
            raise ConfigError(
                f"max_without_profile_share must be within 0..1, got "
                f"{self.max_without_profile_share}"
            )
        if not 0.0 <= self.min_day_volume_ratio <= 1.0:
            raise ConfigError(
                f"min_day_volume_ratio must be within 0..1, got {self.min_day_volume_ratio}"
            )

    def with_overrides(self, **overrides: Any) -> GateSettings:
        """A copy with the given non-None fields replaced (for CLI flags)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GateSettings:
        """Read KEYART_<FIELD> variables over the defaults."""
        return cls(**_parse_env(cls, os.environ if env is None else env))


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Everything the API server needs: where data lives, which backend, limits and caching."""

    warehouse: Path = Path(".data/warehouse")
    snapshot_dir: Path | None = None  # default: <warehouse>/snapshots
    backend: BackendName = "embedded"
    druid_url: str = "http://127.0.0.1:8082"
    druid_timeout_s: float = 10.0
    host: str = "127.0.0.1"
    port: int = 8000
    # server processes sharing the port (uvicorn's multi-process mode); each runs its own
    # event loop, snapshot consumer, caches and backend (docs/performance.md "Workers")
    workers: int = 1
    # threads per worker that run backend queries off the event loop (DuckDB releases the GIL)
    backend_threads: int = 4
    max_window_days: int = 366
    cache_url: str | None = None  # redis://host:port/db; in-memory when unset
    cache_ttl_s: int = 3600
    snapshot_poll_s: float = 5.0
    snapshot_pin: str | None = None
    # /readyz answers 503 until the embedded backend's serving copy is built (a load
    # balancer then sends no traffic to the slower day-file path)
    ready_requires_serving_copy: bool = False
    cors_origins: tuple[str, ...] = ()
    max_query_depth: int = 12
    max_query_tokens: int = 2000
    max_aliases: int = 50
    parser_cache_size: int = 256
    # access (README "Access"): state store, API keys, rate limits, persisted queries
    state_url: str | None = None  # postgresql://…; default: sqlite <warehouse>/state.sqlite3
    allow_anonymous: bool = False  # requests without a key may read
    rate_limit: str = "1200/minute"  # per API key (per address when anonymous); "off" for none
    key_cache_s: float = 5.0  # verified keys are remembered this long (revocation delay)
    introspection: bool = True
    graphiql: bool = True
    persisted_queries: bool = True  # Apollo automatic persisted queries
    persisted_query_cache_mb: float = 16.0  # bound on the query texts kept for them
    safelist: Path | None = None  # Apollo persisted-query manifest: run only its operations
    # limits of one request (README "Limits"): what a request may cost, how long it may
    # run, how large its body and answer may be, how many run at once and wait in line
    max_query_cost: int = 50_000
    execution_timeout_s: float = 5.0
    max_response_bytes: int = 8 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024
    max_inflight: int = 4
    max_queued: int = 16
    queue_timeout_s: float = 1.0
    parser_cache_max_chars: int = 16 * 1024  # longer query texts are parsed, not cached
    # one line per HTTP request on logger keyart.access, at this level (DEBUG, INFO, WARNING)
    access_log: bool = True
    access_log_level: str = "INFO"
    # `keyart serve` without published data: wait for the first snapshot (0 = no time limit)
    # instead of failing at once
    wait_for_data: bool = False
    wait_for_data_timeout_s: float = 0.0
    # rollout (docs/rollout.md): shadow traffic and how often routing rules are re-read
    shadow_backend: BackendName | None = None  # replay sampled backend queries on this stack
    shadow_sample: float = 0.0  # share of backend queries replayed, 0..1
    shadow_queue_size: int = 1000  # replays waiting beyond this are dropped (counted)
    routing_poll_s: float = 2.0  # routing rule changes reach running servers within this
    # notifications (docs/notifications.md): alert evaluation, webhooks, subscriptions
    alerts: bool = True  # the server evaluates new data versions and delivers alerts
    alert_poll_s: float = 2.0  # how often the alert worker looks for versions and deliveries
    alert_lease_s: float = 120.0  # an evaluation not finished by then is taken over
    alert_cooldown_s: float = 0.0  # a cleared finding may fire again only after this long
    webhook_allow: tuple[str, ...] = ()  # CIDRs private/loopback targets must be inside
    webhook_https_only: bool = False  # refuse http:// webhook URLs
    webhook_timeout_s: float = 5.0  # per attempt
    webhook_attempts: int = 5  # attempts per delivery before it is marked failed
    webhook_backoff_s: float = 0.5  # first retry delay; doubles each attempt, with jitter
    ws_max_subscriptions: int = 10  # active subscriptions per websocket connection
    ws_idle_timeout_s: float = 300.0  # a websocket with no subscription is closed after this

    @property
    def snapshots(self) -> Path:
        """The blob directory the snapshot consumer reads from."""
        return self.snapshot_dir if self.snapshot_dir is not None else self.warehouse / "snapshots"

    def with_overrides(self, **overrides: Any) -> ApiSettings:
        """A copy with the given non-None fields replaced (for CLI flags)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        """Read KEYART_<FIELD> variables (e.g. KEYART_CACHE_URL) over the defaults."""
        return cls(**_parse_env(cls, os.environ if env is None else env))


_POSITIVE_LIMITS = (
    "max_query_cost",
    "execution_timeout_s",
    "max_response_bytes",
    "max_body_bytes",
    "max_inflight",
    "queue_timeout_s",
    "workers",
    "backend_threads",
)


_MAX_PARALLEL = 64  # more workers or backend threads than this is a typo on any one host


def validate_limits(settings: ApiSettings) -> None:
    """ConfigError naming the first request limit that is out of range."""
    for name in _POSITIVE_LIMITS:
        value = getattr(settings, name)
        if value <= 0:
            raise ConfigError(f"{name} (KEYART_{name.upper()}) must be > 0, got {value}")
    for name in ("max_queued", "parser_cache_max_chars"):
        value = getattr(settings, name)
        if value < 0:
            raise ConfigError(f"{name} (KEYART_{name.upper()}) must be >= 0, got {value}")
    for name in ("workers", "backend_threads"):
        value = getattr(settings, name)
        if value > _MAX_PARALLEL:
            raise ConfigError(
                f"{name} (KEYART_{name.upper()}) must be <= {_MAX_PARALLEL}, got {value}"
            )


def _parse_env(cls: type, env: Mapping[str, str]) -> dict[str, Any]:
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):
        raw = env.get(f"KEYART_{f.name.upper()}")
        if raw is None:
            continue
        hint = str(hints[f.name])
        try:
            if "Path" in hint:
                values[f.name] = Path(raw)
            elif "tuple" in hint:
                values[f.name] = tuple(s.strip() for s in raw.split(",") if s.strip())
            elif hint.startswith("<class 'bool'>") or hint == "bool":
                values[f.name] = _boolean(raw)
            elif hint.startswith("<class 'int'>") or hint == "int":
                values[f.name] = int(raw)
            elif hint.startswith("<class 'float'>") or hint == "float":
                values[f.name] = float(raw)
            else:
                values[f.name] = raw or None
        except ValueError as exc:
            raise ConfigError(f"KEYART_{f.name.upper()}={raw!r} is not valid: {exc}") from exc
    return values


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _boolean(raw: str) -> bool:
    """An environment flag: 1/true/yes/on or 0/false/no/off (any case)."""
    text = raw.strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError("expected one of 1, true, yes, on, 0, false, no, off")


__all__ = [
    "ApiSettings",
    "BackendName",
    "EngineName",
    "EtlSettings",
    "GateSettings",
    "validate_limits",
]
