"""The exception tree of keyart: every error raised on purpose, grouped by who must act.

    KeyartError
    ├── ClientError         the request is wrong; the client must change it
    │   ├── BadUserInput, NotFound, Unauthenticated, Forbidden, RateLimited
    │   └── BadRequest, PayloadTooLarge, QueryTooCostly
    ├── ServiceError        keyart or a service it uses cannot answer now; retry later
    │   ├── BackendUnavailable, QueryTimeout, Overloaded, ResponseTooLarge
    │   ├── BackendQueryError: QueryRejected, ResourceLimitExceeded, BadBackendAnswer
    │   └── SnapshotError, StateError
    ├── DataError           the data (raw input or warehouse) needs a look
    │   ├── ContractError
    │   ├── IngestError: QualityGateError
    │   └── WarehouseError: WarehouseBusy
    └── ConfigError         a setting is missing or out of range

Each class carries the `code` API clients see (GraphQL `extensions.code`) and whether its
message may be shown to them (`public`); the HTTP status (keyart/http_errors.py) and the
`keyart` command's exit status (keyart/cli.py) are mapped from this tree at their boundary.
"""

from __future__ import annotations


class KeyartError(Exception):
    """Root of every error keyart raises on purpose; `code` is what API clients see."""

    code: str = "INTERNAL"
    # whether the message speaks only of the client's own request and may be shown to it;
    # other messages (paths, SQL, checksums) go to the log and clients get a generic text
    public: bool = False


# --- client errors: the request is wrong -------------------------------------------------


class ClientError(KeyartError):
    """The request is wrong (bad argument, unknown id, no key, too large or costly); its
    message speaks of the request and is shown to the client."""

    code = "BAD_REQUEST"
    public = True


class BadUserInput(ClientError):
    """A request argument is invalid (window end before start, window too long, …)."""

    code = "BAD_USER_INPUT"


class NotFound(ClientError):
    """A requested title or asset does not exist."""

    code = "NOT_FOUND"


class Unauthenticated(ClientError):
    """A request carries no API key, or one that is unknown or revoked."""

    code = "UNAUTHENTICATED"


class Forbidden(ClientError):
    """The request's API key may not use what it asked for (an admin field with a read key)."""

    code = "FORBIDDEN"


class RateLimited(ClientError):
    """The caller sent more requests than its rate limit allows; `retry_after_s` says when
    the next one is admitted."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BadRequest(ClientError):
    """An HTTP request is not a GraphQL request (not JSON, not an object, bad parameters,
    a method other than GET and POST); `status` is the HTTP status it answers."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class PayloadTooLarge(ClientError):
    """A request body (or a GET query string) is larger than the configured limit."""

    code = "PAYLOAD_TOO_LARGE"


class QueryTooCostly(ClientError):
    """An operation's estimated cost is over the budget; it is refused before execution."""

    code = "QUERY_TOO_COSTLY"

    def __init__(self, cost: int, limit: int) -> None:
        super().__init__(
            f"the estimated cost of this operation is {cost:,}, over the limit of {limit:,}; "
            "ask for fewer items (first, ids, top), a shorter window or a coarser granularity"
        )
        self.cost = cost
        self.limit = limit


# --- service errors: keyart or a service it uses cannot answer now -----------------------


class ServiceError(KeyartError):
    """keyart, or a service it depends on, cannot answer right now; retrying later may
    succeed. Messages are for the log unless a subclass says otherwise."""

    code = "UNAVAILABLE"


class BackendUnavailable(ServiceError):
    """A backend could not be reached or did not answer within its timeout."""

    code = "BACKEND_UNAVAILABLE"


class QueryTimeout(ServiceError):
    """An operation did not finish within the execution deadline; its work was cancelled."""

    code = "QUERY_TIMEOUT"
    public = True


class Overloaded(ServiceError):
    """The server runs as many requests as it may and its queue is full."""

    code = "OVERLOADED"
    public = True


class ResponseTooLarge(ServiceError):
    """An answer would be larger than the configured response-size limit."""

    code = "RESPONSE_TOO_LARGE"
    public = True


class BackendQueryError(ServiceError):
    """A backend could not run a query keyart compiled (clients see BAD_QUERY with a
    generic message: the fault is keyart's or the backend's, not the request's)."""

    code = "BAD_QUERY"


class QueryRejected(BackendQueryError):
    """A backend refused a compiled query as malformed or unsupported (a DuckDB binder
    error, a Druid INVALID_INPUT answer)."""


class ResourceLimitExceeded(BackendQueryError):
    """A backend ran out of a per-query resource for this query (Druid's groupBy merge
    buffer); the same work asked for in smaller parts may succeed."""


class BadBackendAnswer(BackendQueryError):
    """A backend answered with a shape keyart does not understand (not a list of rows,
    a metric that is not a number, a sketch estimate without bounds)."""


# the former name of BackendQueryError; `except BadQuery` still catches all three kinds
BadQuery = BackendQueryError


class SnapshotError(ServiceError):
    """A snapshot is missing, corrupt or half written."""

    code = "SNAPSHOT_UNAVAILABLE"


class StateError(ServiceError):
    """The state store (API keys, persisted queries, …) is unreachable or refused a change."""

    code = "STATE"


# --- data errors: the raw input or the warehouse needs a look ----------------------------


class DataError(KeyartError):
    """Raw input, an ETL run or the warehouse is not what keyart needs."""

    code = "DATA"


class ContractError(DataError):
    """Raw input breaks the raw input contract (wrong schema, missing table or column)."""

    code = "BAD_INPUT"


class IngestError(DataError):
    """An ETL run failed; the previous warehouse version stays current."""

    code = "INGEST_FAILED"


class QualityGateError(IngestError):
    """An ingest run's anomalies passed a quality gate; nothing was written."""

    code = "QUALITY_GATE"


class WarehouseError(DataError):
    """The warehouse is missing, unreadable or inconsistent."""

    code = "WAREHOUSE"


class WarehouseBusy(WarehouseError):
    """Another live process holds the warehouse's writer lock (ingest or publish)."""

    code = "WAREHOUSE_BUSY"


# --- configuration -----------------------------------------------------------------------


class ConfigError(KeyartError):
    """A setting is missing or out of range."""

    code = "CONFIG"


__all__ = [
    "BackendQueryError",
    "BackendUnavailable",
    "BadBackendAnswer",
    "BadQuery",
    "BadRequest",
    "BadUserInput",
    "ClientError",
    "ConfigError",
    "ContractError",
    "DataError",
    "Forbidden",
    "IngestError",
    "KeyartError",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "QualityGateError",
    "QueryRejected",
    "QueryTimeout",
    "QueryTooCostly",
    "RateLimited",
    "ResourceLimitExceeded",
    "ResponseTooLarge",
    "ServiceError",
    "SnapshotError",
    "StateError",
    "Unauthenticated",
    "WarehouseBusy",
    "WarehouseError",
]
