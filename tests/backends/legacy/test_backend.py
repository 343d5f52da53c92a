"""What only the legacy (exact) backend does: its plays are the qualified ones (its answers
themselves are checked by the conformance suite, tests/backends/test_conformance.py)."""

from __future__ import annotations

from pathlib import Path

from keyart.backends.legacy import LegacyBackend
from keyart.query.ir import Metric, MetricQuery
from tests.backends import handmade
from tests.backends.handmade import CASES


async def test_plays_below_the_qualifying_duration_do_not_count(tmp_path: Path) -> None:
    data = handmade.make_dataset(seed=3, n_members=40, n_impressions=400)
    short = handmade.Event(handmade.FIRST_DAY, 1, "A1", "US", ("x",), handmade.QUALIFY_SECONDS - 1)
    data.plays.append(short)
    handmade.publish(tmp_path, data)
    legacy = LegacyBackend(tmp_path)
    try:
        query = MetricQuery(CASES["total"].interval, metrics=(Metric.QUALIFIED_PLAYS,))
        got = (await legacy.execute(query)).rows[0].metrics.qualified_plays
        assert got == len(data.plays) - 1
    finally:
        await legacy.aclose()
