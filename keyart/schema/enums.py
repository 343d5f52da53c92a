"""GraphQL enums and their mapping to the lowercase values used below the API."""

from __future__ import annotations

from enum import Enum

import strawberry

from keyart.query import Granularity as IrGranularity


@strawberry.enum(description="What kind of creative an asset is.")
class AssetType(Enum):
    ARTWORK = "artwork"
    VIDEO = "video"


@strawberry.enum(description="What kind of title an asset promotes.")
class TitleKind(Enum):
    SERIES = "series"
    FILM = "film"
    LIVE = "live"
    GAME = "game"


@strawberry.enum(description="Time buckets: DAY, ISO WEEK (starting Monday), MONTH.")
class Granularity(Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    def to_ir(self) -> IrGranularity:
        """The IR granularity of this bucket size."""
        return IrGranularity(self.value)


__all__ = ["AssetType", "Granularity", "TitleKind"]
