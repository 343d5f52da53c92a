"""Effective vs authentic: how well an asset converts (take rate) and how engaged the plays
it earns are (authenticity), each against its title's peers, and the verdict they give."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from keyart.insights.measures import InsightMetric
from keyart.insights.peers import Peer, PeerTest, peer_tests, ratio

# A significant difference must also be material: at least 20% above or below the peers.
MIN_LIFT = 1.2


class Verdict(StrEnum):
    """What an asset's effectiveness and authenticity say about it."""

    AUTHENTIC_WINNER = "authentic_winner"
    CLICKBAIT = "clickbait"
    UNDERPERFORMING = "underperforming"
    TYPICAL = "typical"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True, slots=True)
class Appeal:
    """An asset's verdict with its take rate and authenticity relative to its peers."""

    verdict: Verdict
    effectiveness: float | None  # take rate / peers' median take rate
    authenticity: float | None  # authenticity / peers' median authenticity


def _above(test: PeerTest) -> bool:
    return test.significant and test.log_ratio >= math.log(MIN_LIFT)


def _below(test: PeerTest) -> bool:
    return test.significant and test.log_ratio <= -math.log(MIN_LIFT)


def verdict(effect: PeerTest | None, engage: PeerTest | None) -> Appeal:
    """The appeal of one asset from its take-rate and authenticity tests against peers."""
    effectiveness = None if effect is None else ratio(effect)
    authenticity = None if engage is None else ratio(engage)
    if effect is None:
        return Appeal(Verdict.INSUFFICIENT_DATA, effectiveness, authenticity)
    if _below(effect):  # an asset few play earns few plays to judge: no need to
        found = Verdict.UNDERPERFORMING
    elif not _above(effect):
        found = Verdict.TYPICAL
    elif engage is None:  # more effective, but winner or clickbait cannot be told
        found = Verdict.INSUFFICIENT_DATA
    elif engage.outlier and engage.log_ratio < 0:
        found = Verdict.CLICKBAIT
    elif not _below(engage):
        found = Verdict.AUTHENTIC_WINNER
    else:  # more effective, somewhat less authentic: not enough to call it clickbait
        found = Verdict.TYPICAL
    return Appeal(found, effectiveness, authenticity)


def title_appeal(assets: Sequence[Peer]) -> dict[str, Appeal]:
    """The appeal of every asset of one title (INSUFFICIENT_DATA where it cannot be told)."""
    effect = peer_tests(assets, InsightMetric.TAKE_RATE)
    engage = peer_tests(assets, InsightMetric.AUTHENTICITY)
    return {a.asset_id: verdict(effect.get(a.asset_id), engage.get(a.asset_id)) for a in assets}


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def describe(appeal: Appeal) -> str:
    """A one-sentence reason for a verdict."""
    eff, auth = _times(appeal.effectiveness), _times(appeal.authenticity)
    if appeal.verdict is Verdict.INSUFFICIENT_DATA:
        return (
            "too little data: the asset or its peers of the same type lack the minimum "
            "impressed members or qualified plays"
        )
    text = {
        Verdict.CLICKBAIT: "converts significantly better than its peers but its plays are "
        "far less engaged",
        Verdict.AUTHENTIC_WINNER: "converts significantly better than its peers and its plays "
        "are as engaged",
        Verdict.UNDERPERFORMING: "converts significantly worse than its peers",
        Verdict.TYPICAL: "no significant, material departure from its peers",
    }[appeal.verdict]
    return f"{text} (take rate {eff}, authenticity {auth} the peers' median)"


__all__ = ["MIN_LIFT", "Appeal", "Verdict", "describe", "title_appeal", "verdict"]
