"""Settings for the ETL and the API, built by constructors or read from KEYART_* variables.

Every settings class is a frozen pydantic dataclass: each field's type and range is checked
when it is built (by a constructor, `from_env`, `with_overrides` or `dataclasses.replace`),
and a bad value is a ConfigError naming the field, its KEYART_<FIELD> variable and the value.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args, get_type_hints
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic.dataclasses import dataclass

from keyart.errors import ConfigError
from keyart.sketches.params import MAX_LG_K, MIN_LG_K

BackendName = Literal["embedded", "druid", "legacy"]
EngineName = Literal["embedded", "spark"]
ENV_PREFIX = "KEYART_"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _flag(value: object) -> object:
    """An environment flag: 1/true/yes/on or 0/false/no/off (any case); other values as is."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError("expected one of 1, true, yes, on, 0, false, no, off")


def _comma_list(value: object) -> object:
    """`a, b` → ("a", "b"): how a list is written in one environment variable."""
    if isinstance(value, str):
        return tuple(s.strip() for s in value.split(",") if s.strip())
    return value


def _http_url(value: str) -> str:
    """`value` unchanged when it is an http(s) URL with a host (pydantic's HttpUrl rules)."""
    _HTTP_URL.validate_python(value)
    return value


def _redis_url(value: str | None) -> str | None:
    """`value` unchanged when it reads redis://[:password@]host[:port][/db]."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme != "redis" or not parts.hostname:
        raise ValueError("must look like redis://host:port/db")
    db = parts.path.strip("/")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"has a bad port: {exc}") from exc
    if db and not db.isdigit():
        raise ValueError(f"has a bad db {db!r}: expected a number")
    return value


def _database_url(value: str | None) -> str | None:
    """`value` unchanged when SQLAlchemy can read it as a database URL."""
    if value is None:
        return None
    from sqlalchemy.engine import make_url  # imported here: only this check needs it
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(value)
    except ArgumentError as exc:
        raise ValueError("is not a database URL (e.g. postgresql://user@host/db)") from exc
    return value


def _rate(value: str) -> str:
    """`value` unchanged when it is a rate limit (1200/minute, 20/second;600/minute) or
    off (also none, 0 or empty: no limit)."""
    if value.strip().lower() in {"", "off", "none", "0"}:
        return value
    from limits import parse_many  # imported here: only this check needs it

    try:
        parse_many(value)
    except ValueError as exc:
        raise ValueError("expected e.g. 1200/minute or 20/second;600/minute, or off") from exc
    return value


def _access_log_level(value: str) -> str:
    """`value` unchanged when it names an access-log level (DEBUG, INFO, WARNING; any case)."""
    from keyart.access_log import parse_level

    try:
        parse_level(value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from exc
    return value


def _usable_path(value: Path | None) -> Path | None:
    """`value` unchanged unless no file system could open it (a NUL byte)."""
    if value is not None and "\0" in str(value):
        raise ValueError("a path cannot contain a NUL byte")
    return value


def _snapshot_version(value: str | None) -> str | None:
    """`value` unchanged when it names a snapshot version (s000042-<UTC time>)."""
    if value is None:
        return None
    from keyart.errors import SnapshotError
    from keyart.store.files import version_seq  # imported here: the store imports settings

    try:
        version_seq(value)
    except SnapshotError as exc:
        raise ValueError(str(exc)) from exc
    return value


def _origin(value: str) -> str:
    """`value` unchanged when it is `*` or a browser origin (scheme://host[:port])."""
    parts = urlsplit(value)
    if value != "*" and (parts.scheme not in ("http", "https") or not parts.netloc):
        raise ValueError(f"{value!r} is not an origin like https://app.example or *")
    return value


def _cidr(value: str) -> str:
    """`value` unchanged when it is an IP network (10.0.0.0/8, ::1/128, 127.0.0.1)."""
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a CIDR") from exc
    return value


_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)

# field types with their checks; a number's bounds are given where the field is declared
EnvBool = Annotated[bool, BeforeValidator(_flag)]
UsablePath = Annotated[Path, AfterValidator(_usable_path)]
OptionalPath = Annotated[Path | None, AfterValidator(_usable_path)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
HttpUrlText = Annotated[str, AfterValidator(_http_url)]
RedisUrl = Annotated[str | None, AfterValidator(_redis_url)]
DatabaseUrl = Annotated[str | None, AfterValidator(_database_url)]
Origins = Annotated[
    tuple[Annotated[str, AfterValidator(_origin)], ...], BeforeValidator(_comma_list)
]
Cidrs = Annotated[tuple[Annotated[str, AfterValidator(_cidr)], ...], BeforeValidator(_comma_list)]

# unknown keyword arguments and infinite or NaN numbers are errors too
_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Settings:
    """What every settings class shares: ConfigError naming the variable of a bad field,
    `with_overrides` and `from_env`."""

    __slots__ = ()

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_variable(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            raise ConfigError(_describe(cls, exc)) from exc

    def with_overrides(self, **overrides: Any) -> Self:
        """A copy with the given non-None fields replaced (for CLI flags), checked again."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """Read KEYART_<FIELD> variables (e.g. KEYART_CACHE_URL) over the defaults."""
        return cls(**_env_values(cls, os.environ if env is None else env))


def _describe(cls: type, exc: ValidationError) -> str:
    """One line per bad field: its variable, the bad value and what it must be."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        name = str(loc[0]) if loc else "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "unexpected_keyword_argument":
            lines.append(f"{cls.__name__} has no setting {name!r}")
            continue
        lines.append(
            f"{ENV_PREFIX}{name.upper()}={error['input']!r} is not valid ({name}): {message}"
        )
    return "; ".join(lines)


def _env_values(cls: type, env: Mapping[str, str]) -> dict[str, Any]:
    """The KEYART_<FIELD> values set in `env`, as the strings they are: the field types
    parse them (an empty value of an optional field means None)."""
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        raw = env.get(f"{ENV_PREFIX}{f.name.upper()}")
        if raw is None:
            continue
        optional = type(None) in get_args(hints[f.name])
        values[f.name] = None if optional and raw == "" else raw
    return values


@dataclass(frozen=True, slots=True, config=_CONFIG)
class EtlSettings(_Settings):
    """Metric definitions and sketch precision used when building the warehouse (DESIGN §2)."""

    lg_k: Annotated[int, Field(ge=MIN_LG_K, le=MAX_LG_K)] = 14
    qualify_seconds: NonNegativeInt = 120
    engaged_seconds: NonNegativeInt = 900
    attribution_hours: PositiveInt = 24
    # embedded engine: write the serving layout into each version (docs/serving-layout.md)
    serving_layout: EnvBool = True


@dataclass(frozen=True, slots=True, config=_CONFIG)
class GateSettings(_Settings):
    """Ingest quality gates: anomalies beyond these refuse to publish a run (nothing is
    written) unless `accept_anomalies` is set. KEYART_MAX_WITHOUT_PROFILE_SHARE,
    KEYART_MIN_DAY_VOLUME_RATIO and KEYART_ACCEPT_ANOMALIES override the defaults."""

    # share of kept events (impressions and playbacks) whose member has no profile
    max_without_profile_share: Share = 0.5
    # a day's kept impressions vs its baseline: the previous version's same day, else the
    # previous version's median day, else (3+ days in the run) the run's median day
    min_day_volume_ratio: Share = 0.2
    accept_anomalies: EnvBool = False


@dataclass(frozen=True, slots=True, config=_CONFIG)
class ApiSettings(_Settings):
    """Everything the API server needs: where data lives, which backend, limits and caching."""

    warehouse: UsablePath = Path(".data/warehouse")
    snapshot_dir: OptionalPath = None  # default: <warehouse>/snapshots
    backend: BackendName = "embedded"
    druid_url: HttpUrlText = "http://127.0.0.1:8082"
    druid_timeout_s: Positive = 10.0
    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000  # 0: any free port
    # server processes sharing the port (uvicorn's multi-process mode); each runs its own
    # event loop, snapshot consumer, caches and backend (docs/performance.md "Workers")
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    # threads per worker that run backend queries off the event loop (DuckDB releases the GIL)
    backend_threads: Annotated[int, Field(ge=1, le=64)] = 4
    # gen-0 threshold of Python's cyclic garbage collector in a serving process (0: the
    # interpreter's own, 700); what exists at start is frozen out of collections either way
    gc_threshold: Annotated[int, Field(ge=0, le=10_000_000)] = 50_000
    max_window_days: PositiveInt = 366
    cache_url: RedisUrl = None  # redis://host:port/db; in-memory when unset
    cache_ttl_s: NonNegativeInt = 3600  # 0: no HTTP response cache
    snapshot_poll_s: Positive = 5.0
    snapshot_pin: Annotated[str | None, AfterValidator(_snapshot_version)] = None
    # /readyz answers 503 until the embedded backend's serving copy is built (a load
    # balancer then sends no traffic to the slower day-file path)
    ready_requires_serving_copy: EnvBool = False
    cors_origins: Origins = ()
    max_query_depth: PositiveInt = 12
    max_query_tokens: PositiveInt = 2000
    max_aliases: NonNegativeInt = 50
    parser_cache_size: NonNegativeInt = 256
    # access (README "Access"): state store, API keys, rate limits, persisted queries
    state_url: DatabaseUrl = None  # postgresql://…; default: sqlite <warehouse>/state.sqlite3
    allow_anonymous: EnvBool = False  # requests without a key may read
    # per API key (per address when anonymous); "off" for none
    rate_limit: Annotated[str, AfterValidator(_rate)] = "1200/minute"
    key_cache_s: NonNegative = 5.0  # verified keys are remembered this long (revocation delay)
    introspection: EnvBool = True
    graphiql: EnvBool = True
    persisted_queries: EnvBool = True  # Apollo automatic persisted queries
    persisted_query_cache_mb: NonNegative = 16.0  # bound on the query texts kept for them
    safelist: OptionalPath = None  # Apollo persisted-query manifest: run only its operations
    # limits of one request (README "Limits"): what a request may cost, how long it may
    # run, how large its body and answer may be, how many run at once and wait in line
    max_query_cost: PositiveInt = 50_000
    execution_timeout_s: Positive = 5.0
    max_response_bytes: PositiveInt = 8 * 1024 * 1024
    max_body_bytes: PositiveInt = 1024 * 1024
    max_inflight: PositiveInt = 4
    max_queued: NonNegativeInt = 16
    queue_timeout_s: Positive = 1.0
    parser_cache_max_chars: NonNegativeInt = 16 * 1024  # longer texts are parsed, not cached
    # one line per HTTP request on logger keyart.access, at this level (DEBUG, INFO, WARNING)
    access_log: EnvBool = True
    access_log_level: Annotated[str, AfterValidator(_access_log_level)] = "INFO"
    # `keyart serve` without published data: wait for the first snapshot (0 = no time limit)
    # instead of failing at once
    wait_for_data: EnvBool = False
    wait_for_data_timeout_s: NonNegative = 0.0
    # rollout (docs/rollout.md): shadow traffic and how often routing rules are re-read
    shadow_backend: BackendName | None = None  # replay sampled backend queries on this stack
    shadow_sample: Share = 0.0  # share of backend queries replayed, 0..1
    shadow_queue_size: PositiveInt = 1000  # replays waiting beyond this are dropped (counted)
    routing_poll_s: NonNegative = 2.0  # routing rule changes reach running servers within this
    # notifications (docs/notifications.md): alert evaluation, webhooks, subscriptions
    alerts: EnvBool = True  # the server evaluates new data versions and delivers alerts
    alert_poll_s: Positive = 2.0  # how often the alert worker looks for versions and deliveries
    alert_lease_s: Positive = 120.0  # an evaluation not finished by then is taken over
    alert_cooldown_s: NonNegative = 0.0  # a cleared finding may fire again only after this long
    webhook_allow: Cidrs = ()  # CIDRs private/loopback targets must be inside
    webhook_https_only: EnvBool = False  # refuse http:// webhook URLs
    webhook_timeout_s: Positive = 5.0  # per attempt
    webhook_attempts: PositiveInt = 5  # attempts per delivery before it is marked failed
    webhook_backoff_s: NonNegative = 0.5  # first retry delay; doubles each attempt, with jitter
    ws_max_subscriptions: PositiveInt = 10  # active subscriptions per websocket connection
    ws_idle_timeout_s: Positive = 300.0  # a websocket with no subscription is closed after this

    @property
    def snapshots(self) -> Path:
        """The blob directory the snapshot consumer reads from."""
        return self.snapshot_dir if self.snapshot_dir is not None else self.warehouse / "snapshots"


def validate_limits(settings: ApiSettings) -> None:
    """ConfigError naming the first setting that is out of range. Settings are checked when
    built; this checks again, with the same field validators, an object that did not come
    through the constructor (e.g. unpickled in a worker process)."""
    dataclasses.replace(settings)


__all__ = [
    "ENV_PREFIX",
    "ApiSettings",
    "BackendName",
    "EngineName",
    "EtlSettings",
    "GateSettings",
    "validate_limits",
]
