"""The legacy backend: exact counts over the warehouse's clean event tables (the old stack)."""

from keyart.backends.legacy.backend import LegacyBackend

__all__ = ["LegacyBackend"]
