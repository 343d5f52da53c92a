"""The legacy (exact) backend against a plain-Python oracle over a hand-built warehouse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keyart.backends.base import Backend
from keyart.backends.embedded import EmbeddedBackend
from keyart.backends.legacy import LegacyBackend
from keyart.errors import BackendUnavailable
from keyart.query.ir import Dimension, Filter, Metric, MetricQuery
from tests.backends import handmade
from tests.backends.cases import fine_grained
from tests.backends.handmade import CASES, UNIVERSE
from tests.backends.served import STORAGES, opened


@pytest.fixture(scope="module")
def dataset() -> handmade.Dataset:
    return handmade.make_dataset(seed=5)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, dataset: handmade.Dataset) -> Path:
    root = tmp_path_factory.mktemp("handmade-legacy") / "wh"
    handmade.publish(root, dataset)
    return root


@pytest.fixture(params=STORAGES)
async def legacy(warehouse: Path, request: pytest.FixtureRequest) -> AsyncIterator[LegacyBackend]:
    """The backend reading the event day files, or the version's serving copy of them."""
    async with opened(LegacyBackend, warehouse, request.param) as b:
        yield b


def test_is_a_backend(warehouse: Path) -> None:
    assert isinstance(LegacyBackend(warehouse), Backend)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_equals_oracle_exactly(
    legacy: LegacyBackend, dataset: handmade.Dataset, name: str
) -> None:
    query = CASES[name]
    result = await legacy.execute(query)
    handmade.compare(result, handmade.oracle(dataset, query), query, exact=True)


async def test_fine_grained_exact(legacy: LegacyBackend, dataset: handmade.Dataset) -> None:
    query = fine_grained(UNIVERSE)
    result = await legacy.execute(query)
    assert len(result.rows) > 100
    handmade.compare(result, handmade.oracle(dataset, query), query, exact=True)


async def test_agrees_with_embedded_counts(legacy: LegacyBackend, warehouse: Path) -> None:
    """Old and new stacks run side by side: counts equal, exact distincts inside bounds."""
    embedded = EmbeddedBackend(warehouse)
    try:
        for name in sorted(CASES):
            exact = await legacy.execute(CASES[name])
            sketched = await embedded.execute(CASES[name])
            assert [(r.bucket, r.dims) for r in exact.rows] == [
                (r.bucket, r.dims) for r in sketched.rows
            ], name
            for e, s in zip(exact.rows, sketched.rows, strict=True):
                for metric in CASES[name].metrics:
                    want, have = getattr(e.metrics, metric.value), getattr(s.metrics, metric.value)
                    if metric.is_sketch:
                        assert have.lower <= want.value <= have.upper, (name, metric, e.dims)
                    else:
                        assert have == want, (name, metric, e.dims)
    finally:
        await embedded.aclose()


async def test_plays_below_the_qualifying_duration_do_not_count(
    tmp_path: Path,
) -> None:
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


async def test_affinity_grouping_with_filter_is_list_filtered(
    legacy: LegacyBackend, dataset: handmade.Dataset
) -> None:
    query = MetricQuery(
        CASES["total"].interval,
        filter=Filter(affinities=("y",)),
        group_by=(Dimension.AFFINITY,),
    )
    rows = (await legacy.execute(query)).rows
    assert [r.get(Dimension.AFFINITY) for r in rows] == ["y"]
    assert rows[0].metrics.impressions == sum(1 for e in dataset.impressions if "y" in e.labels)


async def test_missing_warehouse_is_unavailable(tmp_path: Path) -> None:
    legacy = LegacyBackend(tmp_path)
    try:
        with pytest.raises(BackendUnavailable):
            await legacy.ping()
        with pytest.raises(BackendUnavailable):
            await legacy.execute(CASES["total"])
    finally:
        await legacy.aclose()


async def test_ping(legacy: LegacyBackend) -> None:
    await legacy.ping()
