"""Appeal verdicts through the real statistics on simulated titles."""

from __future__ import annotations

import numpy as np

from keyart.insights.appeal import Verdict, describe, title_appeal
from keyart.insights.peers import Peer
from keyart.insights.significance import ALPHA
from tests.insights.simulate import Simulator
from tests.insights.test_peers import TITLES, _limit, _share, null_titles

CALLED = {Verdict.CLICKBAIT, Verdict.AUTHENTIC_WINNER, Verdict.UNDERPERFORMING}


def test_no_effect_gives_a_verdict_on_at_most_the_documented_share_of_titles() -> None:
    titles = null_titles(Simulator(np.random.default_rng(5)))
    called = [any(a.verdict in CALLED for a in title_appeal(title).values()) for title in titles]
    assert _share(called) <= _limit(ALPHA, TITLES)


def _title(sim: Simulator, special: tuple[float, float]) -> list[Peer]:
    peers = [Peer(f"a{i}", "artwork", sim.asset(4000, 0.1, 0.6)) for i in range(5)]
    return [*peers, Peer("x", "artwork", sim.asset(4000, *special))]


def test_planted_kinds_get_their_verdicts() -> None:
    sim = Simulator(np.random.default_rng(6))
    cases = {
        (0.25, 0.06): Verdict.CLICKBAIT,  # converts 2.5x, plays are hardly engaged
        (0.25, 0.65): Verdict.AUTHENTIC_WINNER,
        (0.03, 0.6): Verdict.UNDERPERFORMING,
        (0.1, 0.6): Verdict.TYPICAL,
    }
    for (take, auth), expected in cases.items():
        hits = sum(
            title_appeal(_title(sim, (take, auth)))["x"].verdict is expected for _ in range(100)
        )
        assert hits >= 90, (expected, hits)


def test_too_little_data_is_insufficient() -> None:
    sim = Simulator(np.random.default_rng(7))
    title = _title(sim, (0.25, 0.06))
    title[-1] = Peer("x", "artwork", sim.asset(40, 0.25, 0.06))
    found = title_appeal(title)["x"]
    assert found.verdict is Verdict.INSUFFICIENT_DATA
    assert "too little data" in describe(found)


def test_effectiveness_and_authenticity_are_relative_to_the_peers_median() -> None:
    sim = Simulator(np.random.default_rng(8))
    title = _title(sim, (0.25, 0.06))
    found = title_appeal(title)
    x = title[-1].values
    rates = sorted(
        p.values.unique_players.value / p.values.unique_impressions.value for p in title[:-1]
    )
    own = x.unique_players.value / x.unique_impressions.value
    assert found["x"].effectiveness == own / rates[len(rates) // 2]
    auths = sorted(p.values.engaged_plays / p.values.qualified_plays for p in title[:-1])
    assert found["x"].authenticity == (x.engaged_plays / x.qualified_plays) / auths[2]
