"""Error mapping: every GraphQL error leaves with `extensions.code`, never a stack trace.

keyart errors carry their `code` and keep their message when it speaks of the client's
request (`KeyartError.public`); other messages (paths, SQL, checksums) are logged with the
request id and clients get a generic text for the code; documents that do not parse or
validate (syntax, unknown fields, missing arguments, depth, token and alias limits) are
`BAD_QUERY`; argument values of the wrong type or form (literals or variables) are
`BAD_USER_INPUT`; anything unexpected is `INTERNAL`
with a generic message and an error id, logged server-side with its traceback.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError, ValueNode
from strawberry.types import ExecutionContext

from keyart.errors import KeyartError, QueryTimeout

log = logging.getLogger("keyart.graphql")

BAD_QUERY = "BAD_QUERY"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL"
INTERNAL_MESSAGE = "Internal server error"
_CODED = "_keyart_coded"  # marks an error already processed (validation results are cached)
# what a client reads for an error whose own message is for the log only
PUBLIC_MESSAGES = {
    "BACKEND_UNAVAILABLE": "the metrics backend could not answer; try again shortly",
    "SNAPSHOT_UNAVAILABLE": "no data snapshot is being served yet; try again shortly",
    "BAD_QUERY": "the metrics backend could not run the query this field needs",
    "WAREHOUSE": "the warehouse cannot be read right now; try again shortly",
}


def _root_cause(error: GraphQLError) -> BaseException | None:
    cause: BaseException | None = error.original_error
    while isinstance(cause, GraphQLError) and cause.original_error is not None:
        cause = cause.original_error
    return cause


def classify(error: GraphQLError) -> str:
    """The client-facing code of one error."""
    cause = _root_cause(error)
    if isinstance(cause, KeyartError):
        return cause.code
    if isinstance(error, GraphQLSyntaxError):
        return BAD_QUERY
    if error.path is None:
        # before execution: a bad document, or a value that cannot be coerced
        if cause is not None or error.message.startswith("Variable '$"):
            return BAD_USER_INPUT
        if error.nodes and isinstance(error.nodes[0], ValueNode):
            return BAD_USER_INPUT  # a literal argument of the wrong type or form
        return BAD_QUERY
    return INTERNAL


class KeyartSchema(strawberry.Schema):
    """A Strawberry schema whose errors always carry `extensions.code`."""

    # whether keyart's plain-field execution answers plain fields (schema/execution.py)
    plain_fields: bool = False

    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        context: Any = getattr(execution_context, "context", None)
        metrics = getattr(context, "metrics", None)
        for error in errors:
            if isinstance(_root_cause(error), QueryTimeout):
                continue  # the server answers one QUERY_TIMEOUT instead of these
            if getattr(error, _CODED, False):
                code = (error.extensions or {}).get("code", INTERNAL)
            else:
                code = self._code(error, execution_context)
            if metrics is not None:
                metrics.graphql_errors.labels(code).inc()

    def _code(self, error: GraphQLError, execution_context: ExecutionContext | None) -> str:
        code = classify(error)
        extensions = dict(error.extensions or {})
        cause = _root_cause(error)
        request_id = getattr(getattr(execution_context, "context", None), "request_id", None)
        if code == INTERNAL:
            error_id = uuid.uuid4().hex[:12]
            operation = getattr(execution_context, "operation_name", None)
            log.error(
                "internal error %s (request %s) in operation %s at %s: %s",
                error_id,
                request_id,
                operation,
                error.path,
                error.message,
                exc_info=cause or error,
            )
            error.message = INTERNAL_MESSAGE
            extensions["errorId"] = error_id
        elif isinstance(cause, KeyartError) and not cause.public:
            log.warning(
                "graphql error %s (request %s) at %s: %s",
                code,
                request_id,
                error.path,
                error.message,
            )
            error.message = PUBLIC_MESSAGES.get(code, f"the request could not be answered ({code})")
        else:
            log.info(
                "graphql error %s (request %s) at %s: %s",
                code,
                request_id,
                error.path,
                error.message,
            )
        extensions["code"] = code
        error.extensions = extensions
        setattr(error, _CODED, True)
        return code


def coded_error(exc: KeyartError, **extensions: object) -> GraphQLError:
    """A GraphQL error for a keyart error raised outside field execution (deadline, size
    cap), already carrying its code."""
    error = GraphQLError(str(exc), original_error=exc, extensions={**extensions, "code": exc.code})
    setattr(error, _CODED, True)
    return error


__all__ = [
    "BAD_QUERY",
    "BAD_USER_INPUT",
    "INTERNAL",
    "PUBLIC_MESSAGES",
    "KeyartSchema",
    "classify",
    "coded_error",
]
