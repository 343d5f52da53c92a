"""Garbage-collector settings for a serving process, applied once its app is built.

Each GraphQL request allocates tens of thousands of short-lived container objects
(parsed arguments, field results, response dicts), so with Python's default gen-0
threshold (700) the cyclic collector runs dozens of times per request, and every full
collection walks the process's long-lived objects: the schema, modules, the snapshot's
indexes. Moving what exists at start into the permanent generation (`gc.freeze()`) takes
those out of every later collection, and a higher gen-0 threshold makes collections rarer
without keeping more garbage: almost everything a request allocates is freed by reference
counting when the request ends.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def settle(threshold: int) -> Callable[[], None]:
    """Collect once, freeze what survives (the app, its modules and the loaded snapshot),
    and set the gen-0 threshold to `threshold` (0 keeps the interpreter's own). Returns
    the undo: unfreeze and restore the thresholds, so that a process building several apps
    (tests, embedding) can still collect the ones it is done with."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    if threshold > 0:
        gc.set_threshold(threshold, before[1], before[2])
    log.debug("gc: %d objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold())

    def undo() -> None:
        gc.set_threshold(*before)
        gc.unfreeze()

    return undo


__all__ = ["settle"]
