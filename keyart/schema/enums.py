"""GraphQL enums and their mapping to the lowercase values used below the API."""

from __future__ import annotations

from enum import Enum

import strawberry

from keyart.insights.appeal import Verdict
from keyart.insights.peers import Direction as IrDirection
from keyart.query import Granularity as IrGranularity
from keyart.store.queries import TitleOrder as StoreTitleOrder


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


@strawberry.enum(
    description=(
        "A metric to rank or compare assets by: takeRate, authenticity, uniqueImpressions"
        " (estimate) or qualifiedPlays."
    )
)
class InsightMetric(Enum):
    TAKE_RATE = "take_rate"
    AUTHENTICITY = "authenticity"
    UNIQUE_IMPRESSIONS = "unique_impressions"
    QUALIFIED_PLAYS = "qualified_plays"


@strawberry.enum(
    description=(
        "The order of a titles page: NAME (ignoring case, then id) or LAUNCH_DATE_DESC"
        " (newest launch first, then by name; titles without a launch date last)."
    )
)
class TitleOrder(Enum):
    NAME = "name"
    LAUNCH_DATE_DESC = "launch_date_desc"

    def to_store(self) -> StoreTitleOrder:
        """The snapshot query's name of this order."""
        return "name" if self is TitleOrder.NAME else "launch_date_desc"


@strawberry.enum(description="Whether a value stands out above (HIGH) or below (LOW).")
class Direction(Enum):
    HIGH = "high"
    LOW = "low"

    @classmethod
    def of(cls, direction: IrDirection) -> Direction:
        """The GraphQL value of an insights direction."""
        return cls(direction.value)


@strawberry.enum(description="What an asset's effectiveness and authenticity say about it.")
class AppealVerdict(Enum):
    AUTHENTIC_WINNER = "authentic_winner"
    CLICKBAIT = "clickbait"
    UNDERPERFORMING = "underperforming"
    TYPICAL = "typical"
    INSUFFICIENT_DATA = "insufficient_data"

    @classmethod
    def of(cls, verdict: Verdict) -> AppealVerdict:
        """The GraphQL value of an insights verdict."""
        return cls(verdict.value)


__all__ = [
    "AppealVerdict",
    "AssetType",
    "Direction",
    "Granularity",
    "InsightMetric",
    "TitleKind",
    "TitleOrder",
]
