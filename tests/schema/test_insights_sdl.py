"""The insights contract of issue 14 is honoured verbatim by the committed SDL."""

from __future__ import annotations

import graphql
import pytest

from keyart.schema import SDL_PATH
from tests.schema.test_sdl import CONTRACT, differences

# issue 14, verbatim (extensions allowed, these names and meanings fixed)
INSIGHTS = """
enum InsightMetric { TAKE_RATE AUTHENTICITY UNIQUE_IMPRESSIONS QUALIFIED_PLAYS }
enum Direction { HIGH LOW }
extend type Title {
  outliers(window: DateRange!, filter: MetricFilter, metric: InsightMetric = TAKE_RATE): [Outlier!]!
}
type Outlier { asset: Asset!  metric: InsightMetric!  direction: Direction!  value: Float!  peerMedian: Float!  score: Float!  pValue: Float!  reason: String! }
extend type Asset {
  appeal(window: DateRange!, filter: MetricFilter): Appeal!
  anomalies(window: DateRange!, metric: InsightMetric = TAKE_RATE, granularity: Granularity = DAY, filter: MetricFilter): [Anomaly!]!
}
enum AppealVerdict { AUTHENTIC_WINNER CLICKBAIT UNDERPERFORMING TYPICAL INSUFFICIENT_DATA }
type Appeal { verdict: AppealVerdict!  effectiveness: Float  authenticity: Float  reason: String! }
type Anomaly { date: Date!  direction: Direction!  value: Float!  expected: Float!  score: Float! }
extend type Query {
  compare(assets: [ID!]!, window: DateRange!, filter: MetricFilter, baseline: ID): Comparison!
}
type Comparison { baseline: Asset!  entries: [ComparisonEntry!]! }
type ComparisonEntry { asset: Asset!  metrics: Metrics!  takeRateLift: Estimate  probabilityBetter: Float!  significant: Boolean! }
"""  # noqa: E501

NAMES = [
    "InsightMetric",
    "Direction",
    "Title",
    "Outlier",
    "Asset",
    "AppealVerdict",
    "Appeal",
    "Anomaly",
    "Query",
    "Comparison",
    "ComparisonEntry",
]


@pytest.mark.parametrize("name", NAMES)
def test_insight_types_exist_with_their_fields(name: str) -> None:
    contract = graphql.build_schema(CONTRACT + INSIGHTS)
    ours = graphql.build_schema(SDL_PATH.read_text())
    assert differences(contract, ours, name) == []
