"""Named points of an embedded run where the caller may act (a test pauses or kills the
process there); production runs pass nothing and go straight on."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

# the writer lock is held; rollups of a batch of days are staged; the version is about
# to be committed; it is committed and its snapshot not yet published
STEPS = ("locked", "rollups", "commit", "snapshot")


# called at each of STEPS with the step and `settle`, which finishes the writes under way
# (so that what is staged so far is on disk when the caller looks)
Checkpoint: TypeAlias = Callable[[str, Callable[[], None]], None]


def go_on(step: str, settle: Callable[[], None]) -> None:
    """The default checkpoint: nothing to do."""


def nothing_to_settle() -> None:
    """`settle` at a point with no writes under way."""


__all__ = ["STEPS", "Checkpoint", "go_on", "nothing_to_settle"]
