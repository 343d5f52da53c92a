"""The root exception type of keyart and the errors mapped at each boundary."""

from __future__ import annotations


class KeyartError(Exception):
    """Root of every error keyart raises on purpose; `code` is what API clients see."""

    code: str = "INTERNAL"
    exit_code: int = 2  # the `keyart` command's exit status when this error ends it


class ConfigError(KeyartError):
    """A setting is missing or out of range."""

    code = "CONFIG"


class ContractError(KeyartError):
    """Raw input breaks the raw input contract (wrong schema, missing table or column)."""

    code = "BAD_INPUT"


class WarehouseError(KeyartError):
    """The warehouse is missing, unreadable or inconsistent."""

    code = "WAREHOUSE"


class WarehouseBusy(WarehouseError):
    """Another live process holds the warehouse's writer lock (ingest or publish)."""

    code = "WAREHOUSE_BUSY"
    exit_code = 75  # EX_TEMPFAIL: retrying later may succeed


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


class QualityGateError(IngestError):
    """An ingest run's anomalies passed a quality gate; nothing was written."""

    code = "QUALITY_GATE"
    exit_code = 65  # EX_DATAERR: the input data needs a look (or --accept-anomalies)
