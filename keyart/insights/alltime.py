"""All-time insights of a whole snapshot: outliers per title and metric and every asset's
appeal, computed once at publish from the all-time metrics."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from keyart.insights.appeal import Appeal, verdict
from keyart.insights.measures import InsightMetric
from keyart.insights.peers import Peer, PeerTest, flagged, peer_tests
from keyart.query.results import MetricValues

EMPTY = MetricValues()

TitleOutliers = Mapping[InsightMetric, tuple[PeerTest, ...]]


def precompute(
    title_assets: Mapping[str, tuple[str, ...]],
    asset_types: Mapping[str, str],
    asset_alltime: Mapping[str, MetricValues],
) -> tuple[Mapping[str, TitleOutliers], Mapping[str, Appeal]]:
    """Outliers per title and metric (most extreme first; only titles and metrics that have
    some) and the appeal of every asset, from all-time metrics."""
    outliers: dict[str, TitleOutliers] = {}
    appeal: dict[str, Appeal] = {}
    for title_id, asset_ids in title_assets.items():
        peers = [Peer(a, asset_types[a], asset_alltime.get(a, EMPTY)) for a in asset_ids]
        tests = {metric: peer_tests(peers, metric) for metric in InsightMetric}
        found = {metric: tuple(flagged(t)) for metric, t in tests.items() if flagged(t)}
        if found:  # titles and metrics without outliers are left out
            outliers[title_id] = MappingProxyType(found)
        effect, engage = tests[InsightMetric.TAKE_RATE], tests[InsightMetric.AUTHENTICITY]
        for asset_id in asset_ids:
            appeal[asset_id] = verdict(effect.get(asset_id), engage.get(asset_id))
    return MappingProxyType(outliers), MappingProxyType(appeal)


__all__ = ["TitleOutliers", "precompute"]
