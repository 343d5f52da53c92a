"""The root exception type of keyart and the errors mapped at each boundary."""

from __future__ import annotations


class KeyartError(Exception):
    """Root of every error keyart raises on purpose; `code` is what API clients see."""

    code: str = "INTERNAL"
    # whether the message speaks only of the client's own request and may be shown to it;
    # other messages (paths, SQL, checksums) go to the log and clients get a generic text
    public: bool = False


class ConfigError(KeyartError):
    """A setting is missing or out of range."""

    code = "CONFIG"


class ContractError(KeyartError):
    """Raw input breaks the raw input contract (wrong schema, missing table or column)."""

    code = "BAD_INPUT"


class WarehouseError(KeyartError):
    """The warehouse is missing, unreadable or inconsistent."""

    code = "WAREHOUSE"


class IngestError(KeyartError):
    """An ETL run failed; the previous warehouse version stays current."""

    code = "INGEST_FAILED"


class BadUserInput(KeyartError):
    """A request argument is invalid (window end before start, window too long, …)."""

    code = "BAD_USER_INPUT"
    public = True


class NotFound(KeyartError):
    """A requested title or asset does not exist."""

    code = "NOT_FOUND"
    public = True


class BadQuery(KeyartError):
    """A backend rejected a query as malformed or unsupported."""

    code = "BAD_QUERY"


class BackendUnavailable(KeyartError):
    """A backend could not be reached or did not answer within its timeout."""

    code = "BACKEND_UNAVAILABLE"


class SnapshotError(KeyartError):
    """A snapshot is missing, corrupt or half written."""

    code = "SNAPSHOT_UNAVAILABLE"


class StateError(KeyartError):
    """The state store (API keys, persisted queries, …) is unreachable or refused a change."""

    code = "STATE"


class Unauthenticated(KeyartError):
    """A request carries no API key, or one that is unknown or revoked."""

    code = "UNAUTHENTICATED"
    public = True


class Forbidden(KeyartError):
    """The request's API key may not use what it asked for (an admin field with a read key)."""

    code = "FORBIDDEN"
    public = True


class BadRequest(KeyartError):
    """An HTTP request is not a GraphQL request (not JSON, not an object, bad parameters,
    a method other than GET and POST); `status` is the HTTP status it answers."""

    code = "BAD_REQUEST"
    public = True

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class PayloadTooLarge(KeyartError):
    """A request body (or a GET query string) is larger than the configured limit."""

    code = "PAYLOAD_TOO_LARGE"
    public = True


class QueryTooCostly(KeyartError):
    """An operation's estimated cost is over the budget; it is refused before execution."""

    code = "QUERY_TOO_COSTLY"
    public = True

    def __init__(self, cost: int, limit: int) -> None:
        super().__init__(
            f"the estimated cost of this operation is {cost:,}, over the limit of {limit:,}; "
            "ask for fewer items (first, ids, top), a shorter window or a coarser granularity"
        )
        self.cost = cost
        self.limit = limit


class QueryTimeout(KeyartError):
    """An operation did not finish within the execution deadline; its work was cancelled."""

    code = "QUERY_TIMEOUT"
    public = True


class ResponseTooLarge(KeyartError):
    """An answer would be larger than the configured response-size limit."""

    code = "RESPONSE_TOO_LARGE"
    public = True


class Overloaded(KeyartError):
    """The server runs as many requests as it may and its queue is full."""

    code = "OVERLOADED"
    public = True
