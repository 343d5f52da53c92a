"""Media types of GraphQL over HTTP: `application/graphql-response+json` (the spec's
type, whose status codes tell request errors apart) or the traditional `application/json`."""

from __future__ import annotations

GRAPHQL_RESPONSE_MEDIA = "application/graphql-response+json"
_JSON = "application/json"


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def wants_graphql_response(accept: str) -> bool:
    """Whether an Accept header prefers application/graphql-response+json (listed with a
    quality at least that of application/json); absent or */* keeps application/json."""
    graphql = json = 0.0
    for item in accept.split(","):
        media, *parameters = item.split(";")
        media = media.strip().lower()
        if media == GRAPHQL_RESPONSE_MEDIA:
            graphql = max(graphql, _quality(parameters))
        elif media == _JSON:
            json = max(json, _quality(parameters))
    return graphql > 0 and graphql >= json


__all__ = ["GRAPHQL_RESPONSE_MEDIA", "wants_graphql_response"]
