"""keyart: a GraphQL analytics API for creative insights."""

__version__ = "0.1.0"
