"""Typed errors from Druid's JSON error body: a resource limit is told by Druid's error code
or class, never by words in a message, and only it makes the backend split a query.

Druid's answers are simulated with httpx.MockTransport (this tests the code around Druid;
tests/backends/druid/test_cluster.py meets the real limit on the real cluster).
"""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from keyart.backends.druid import DruidBackend
from keyart.backends.druid.client import DruidClient
from keyart.errors import (
    BackendQueryError,
    BackendUnavailable,
    QueryRejected,
    ResourceLimitExceeded,
)
from keyart.query import Dimension, Filter, Interval, MetricQuery

MERGE_BUFFER = "Not enough merge buffer memory to execute this query"
LEGACY = {
    "error": "Resource limit exceeded",
    "errorMessage": MERGE_BUFFER,
    "errorClass": "org.apache.druid.query.ResourceLimitExceededException",
    "host": None,
}
# a DruidException wrapping the legacy error keeps its code in the context
WRAPPED = {
    "error": "druidException",
    "errorCode": "legacyQueryException",
    "persona": "OPERATOR",
    "category": "CAPACITY_EXCEEDED",
    "errorMessage": MERGE_BUFFER,
    "context": {"legacyErrorCode": "Resource limit exceeded"},
}
CLASS_ONLY = {
    "errorMessage": MERGE_BUFFER,
    "errorClass": "org.apache.druid.query.ResourceLimitExceededException",
}
# a refused query whose message merely mentions the words
MENTIONS_IT = {
    "error": "druidException",
    "errorCode": "invalidInput",
    "persona": "USER",
    "category": "INVALID_INPUT",
    "errorMessage": "context key 'Resource limit exceeded' is not supported",
    "context": {},
}


def _answering(status: int, body: dict[str, object]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, LEGACY, ResourceLimitExceeded),
        (500, WRAPPED, ResourceLimitExceeded),
        (400, CLASS_ONLY, ResourceLimitExceeded),
        (400, MENTIONS_IT, QueryRejected),
        (500, MENTIONS_IT, QueryRejected),
        (503, {"error": "Service Unavailable", "errorMessage": MERGE_BUFFER}, BackendUnavailable),
    ],
    ids=["legacy", "wrapped", "class-only", "mention-400", "mention-500", "unavailable"],
)
async def test_the_error_kind_comes_from_druids_error_fields(
    status: int, body: dict[str, object], expected: type[Exception]
) -> None:
    client = DruidClient("http://broker:8082", transport=_answering(status, body))
    with pytest.raises(expected) as info:
        await client.query({"queryType": "groupBy"})
    await client.aclose()
    assert type(info.value) is expected
    assert str(body["errorMessage"]) in str(info.value)  # Druid's own words for the log
    assert isinstance(info.value.__cause__, httpx.HTTPStatusError)


async def test_only_a_resource_limit_makes_the_backend_split() -> None:
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(400, json=MENTIONS_IT)

    backend = DruidBackend("http://b", transport=httpx.MockTransport(handler))
    query = MetricQuery(
        Interval(date(2024, 1, 1), date(2024, 1, 31)),
        filter=Filter(asset_ids=("a1", "a2")),
        group_by=(Dimension.ASSET,),
    )
    with pytest.raises(QueryRejected):
        await backend.execute(query)
    await backend.aclose()
    assert len(sent) == 1  # refused as a whole: no halves asked for
    assert issubclass(QueryRejected, BackendQueryError)
