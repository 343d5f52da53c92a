"""Thin resolvers: validate arguments, build the query IR, route to the snapshot or a loader."""

from keyart.resolvers.context import RequestContext, data_version

__all__ = ["RequestContext", "data_version"]
