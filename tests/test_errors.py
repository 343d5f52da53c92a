"""The error tree and its mapping at each boundary: GraphQL codes, HTTP statuses, exit codes."""

from __future__ import annotations

import inspect

import pytest

from keyart import errors
from keyart.cli import exit_code
from keyart.errors import (
    BackendQueryError,
    BadBackendAnswer,
    BadQuery,
    BadRequest,
    ClientError,
    ConfigError,
    DataError,
    Forbidden,
    IngestError,
    KeyartError,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    QualityGateError,
    QueryRejected,
    RateLimited,
    ResourceLimitExceeded,
    ServiceError,
    StateError,
    Unauthenticated,
    WarehouseBusy,
    WarehouseError,
)
from keyart.http_errors import http_headers, http_status, keyart_error_response

BRANCHES = (ClientError, ServiceError, DataError, ConfigError)
LEAVES = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, KeyartError) and cls not in (KeyartError, *BRANCHES)
]

# the codes clients and scripts already rely on (docs/errors.md): renaming one breaks them
PUBLIC_CODES = {
    "BadUserInput": "BAD_USER_INPUT",
    "NotFound": "NOT_FOUND",
    "Unauthenticated": "UNAUTHENTICATED",
    "Forbidden": "FORBIDDEN",
    "RateLimited": "RATE_LIMITED",
    "BadRequest": "BAD_REQUEST",
    "PayloadTooLarge": "PAYLOAD_TOO_LARGE",
    "QueryTooCostly": "QUERY_TOO_COSTLY",
    "BackendUnavailable": "BACKEND_UNAVAILABLE",
    "QueryTimeout": "QUERY_TIMEOUT",
    "Overloaded": "OVERLOADED",
    "ResponseTooLarge": "RESPONSE_TOO_LARGE",
    "BackendQueryError": "BAD_QUERY",
    "QueryRejected": "BAD_QUERY",
    "ResourceLimitExceeded": "BAD_QUERY",
    "BadBackendAnswer": "BAD_QUERY",
    "SnapshotError": "SNAPSHOT_UNAVAILABLE",
    "StateError": "STATE",
    "ContractError": "BAD_INPUT",
    "IngestError": "INGEST_FAILED",
    "QualityGateError": "QUALITY_GATE",
    "WarehouseError": "WAREHOUSE",
    "WarehouseBusy": "WAREHOUSE_BUSY",
}


@pytest.mark.parametrize("cls", LEAVES, ids=lambda cls: cls.__name__)
def test_every_error_sits_on_exactly_one_branch(cls: type[KeyartError]) -> None:
    assert sum(issubclass(cls, branch) for branch in BRANCHES) == 1


def test_codes_are_unchanged_and_client_errors_are_public() -> None:
    assert {cls.__name__: cls.code for cls in LEAVES} == PUBLIC_CODES
    assert all(cls.public for cls in LEAVES if issubclass(cls, ClientError))
    assert not any(cls.public for cls in LEAVES if issubclass(cls, DataError | ConfigError))


def test_bad_query_is_split_into_three_kinds_under_its_old_name() -> None:
    assert BadQuery is BackendQueryError
    kinds = (QueryRejected, ResourceLimitExceeded, BadBackendAnswer)
    for kind in kinds:
        assert issubclass(kind, BadQuery)
        assert sum(issubclass(kind, other) for other in kinds) == 1


@pytest.mark.parametrize(
    ("exc", "status", "headers"),
    [
        (BadRequest("not JSON"), 400, {}),
        (BadRequest("use GET or POST", 405), 405, {}),
        (PayloadTooLarge("big"), 413, {}),
        (Unauthenticated("no key"), 401, {}),
        (Forbidden("admin only"), 403, {}),
        (NotFound("no such title"), 404, {}),
        (RateLimited("slow down", 7), 429, {"Retry-After": "7"}),
        (Overloaded("queue full"), 503, {"Retry-After": "1"}),
        (StateError("state store down"), 503, {}),
        (ServiceError("keys cannot be checked"), 503, {}),
        (WarehouseError("unreadable"), 500, {}),
        (ConfigError("bad setting"), 500, {}),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, KeyartError) else None,
)
def test_http_status_and_headers_come_from_the_tree(
    exc: KeyartError, status: int, headers: dict[str, str]
) -> None:
    assert (http_status(exc), http_headers(exc)) == (status, headers)


def test_an_http_answer_hides_messages_that_are_not_public() -> None:
    public = keyart_error_response(PayloadTooLarge("body over 1 MiB"), request_id="r1")
    private = keyart_error_response(WarehouseError("/srv/wh/v7 is corrupt"), request_id="r2")
    assert b"body over 1 MiB" in public.body and b'"PAYLOAD_TOO_LARGE"' in public.body
    assert b"/srv/wh" not in private.body and b'"WAREHOUSE"' in private.body
    assert private.headers["x-request-id"] == "r2"


def test_cli_exit_codes_come_from_the_tree() -> None:
    assert exit_code(QualityGateError("gate")) == 65  # EX_DATAERR
    assert exit_code(WarehouseBusy("locked")) == 75  # EX_TEMPFAIL
    assert exit_code(IngestError("failed")) == 2
    assert exit_code(ConfigError("bad")) == 2
    assert exit_code(ResourceLimitExceeded("too many groups")) == 2
