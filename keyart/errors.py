"""The root exception type of keyart and the errors mapped at each boundary."""

from __future__ import annotations


class KeyartError(Exception):
    """Root of every error keyart raises on purpose; `code` is what API clients see."""

    code: str = "INTERNAL"


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


class NotFound(KeyartError):
    """A requested title or asset does not exist."""

    code = "NOT_FOUND"


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


class Forbidden(KeyartError):
    """The request's API key may not use what it asked for (an admin field with a read key)."""

    code = "FORBIDDEN"
