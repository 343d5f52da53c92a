"""Error mapping of the schema: codes for every kind of failure, no internals leaked."""

from __future__ import annotations

import json

from graphql import GraphQLError

from keyart.config import ApiSettings
from keyart.errors import BackendUnavailable, NotFound
from keyart.schema import build_schema
from keyart.schema.errors import INTERNAL_MESSAGE, classify


def test_unexpected_errors_are_masked_and_coded() -> None:
    schema = build_schema()
    secret = GraphQLError("boom", path=["asset", "metrics"], original_error=KeyError("secret-x"))
    schema.process_errors([secret])
    assert secret.message == INTERNAL_MESSAGE
    assert secret.extensions is not None
    assert secret.extensions["code"] == "INTERNAL"
    assert len(secret.extensions["errorId"]) == 12
    assert "secret-x" not in json.dumps(secret.formatted)


def test_keyart_errors_keep_their_message_and_code() -> None:
    down = GraphQLError("x", path=["a"], original_error=BackendUnavailable("druid is down"))
    missing = GraphQLError("y", path=["b"], original_error=NotFound("no title t9"))
    assert classify(down) == "BACKEND_UNAVAILABLE"
    assert classify(missing) == "NOT_FOUND"


async def test_limits_come_from_settings() -> None:
    schema = build_schema(ApiSettings(max_query_depth=3, max_aliases=1, max_query_tokens=30))
    deep = await schema.execute("{ titles { edges { node { assets { title { id } } } } } }")
    assert deep.errors and "maximum operation depth of 3" in deep.errors[0].message
    assert deep.errors[0].extensions == {"code": "BAD_QUERY"}
    aliased = await schema.execute("{ a: dataVersion b: dataVersion }")
    assert aliased.errors and "2 aliases found" in aliased.errors[0].message
    long = await schema.execute("{ " + "dataVersion " * 40 + "}")
    assert long.errors and "more than 30 tokens" in long.errors[0].message
