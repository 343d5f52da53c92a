"""The conformance suite's fixtures: its data sets (a hand-built warehouse and the ETL's
tiny one, each with the exact truth of its events), their loads into the real Druid
cluster, and `backend`, parametrised over every target × data set (tests/backends/targets.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keyart.backends.base import Backend
from keyart.cli import main as cli_main
from keyart.warehouse.layout import Warehouse
from tests.backends import handmade
from tests.backends.cases import Universe
from tests.backends.druid.loads import HANDMADE_PREFIX, LOAD_TIMEOUT_S, TINY_PREFIX, Loaded, load
from tests.backends.handmade import Dataset
from tests.backends.targets import Data, Target, params
from tests.druid_support import DruidEndpoints, druid_endpoints_or_skip
from tests.truth import truth_of


@pytest.fixture(scope="session")
def tiny_truth(tiny_raw: Path) -> Dataset:
    """Clean impressions and attributed qualified plays of the tiny raw data."""
    return Dataset.from_truth(truth_of(tiny_raw))


@pytest.fixture(scope="session")
def tiny_universe(tiny_truth: Dataset) -> Universe:
    """The calendar and busiest values of the tiny data, to build test queries from."""
    days = tiny_truth.days
    imps = tiny_truth.impressions
    assets = Counter(e.asset for e in imps).most_common(3)
    titles = Counter(e.title for e in imps).most_common(2)
    countries = Counter(e.country for e in imps).most_common(2)
    labels = Counter(label for e in imps for label in e.labels).most_common(3)
    return Universe(
        days[0],
        (days[-1] - days[0]).days + 1,
        assets=tuple(a for a, _ in assets),
        titles=tuple(t for t, _ in titles),
        countries=tuple(c for c, _ in countries),
        labels=tuple(label for label, _ in labels),
    )


@pytest.fixture(scope="session")
def tiny_serving_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for serving copies of the shared tiny warehouse (which stays untouched)."""
    return tmp_path_factory.mktemp("tiny-serving")


@pytest.fixture(scope="session")
def handmade_events() -> Dataset:
    """The hand-built events of the conformance suite."""
    return handmade.make_dataset()


@pytest.fixture(scope="session")
def handmade_warehouse(tmp_path_factory: pytest.TempPathFactory, handmade_events: Dataset) -> Path:
    """The hand-built events published as a warehouse (read-only for tests)."""
    root = tmp_path_factory.mktemp("handmade") / "wh"
    handmade.publish(root, handmade_events)
    return root


@pytest.fixture(scope="session")
def handmade_data(
    handmade_warehouse: Path, handmade_events: Dataset, tmp_path_factory: pytest.TempPathFactory
) -> Data:
    """The hand-built data set."""
    return Data(
        "handmade",
        handmade_warehouse,
        handmade_events,
        handmade.UNIVERSE,
        handmade.LG_K,
        tmp_path_factory.mktemp("handmade-serving"),
        HANDMADE_PREFIX,
        small_groups=True,
    )


@pytest.fixture(scope="session")
def tiny_data(
    tiny_warehouse: Path, tiny_truth: Dataset, tiny_universe: Universe, tiny_serving_cache: Path
) -> Data:
    """The ETL's tiny data set."""
    lg_k = Warehouse(tiny_warehouse).current().lg_k
    return Data(
        "tiny",
        tiny_warehouse,
        tiny_truth,
        tiny_universe,
        lg_k,
        tiny_serving_cache,
        TINY_PREFIX,
        small_groups=False,
    )


# ---------------------------------------------------------------- the real Druid cluster


@pytest.fixture(scope="session")
def druid() -> DruidEndpoints:
    """The live cluster (skips the test when it is down; fails with KEYART_REQUIRE_DRUID=1)."""
    return druid_endpoints_or_skip()


@pytest.fixture(scope="session")
def handmade_loaded(
    druid: DruidEndpoints, handmade_warehouse: Path, handmade_events: Dataset
) -> Loaded:
    """The hand-built warehouse loaded under HANDMADE_PREFIX."""
    return Loaded(
        handmade_events, handmade_warehouse, load(druid, handmade_warehouse, HANDMADE_PREFIX)
    )


@pytest.fixture(scope="session")
def tiny_loaded(druid: DruidEndpoints, tiny_warehouse: Path) -> Path:
    """The session's tiny warehouse (snapshot included) loaded under TINY_PREFIX with
    `keyart druid ingest`, as a user would run it."""
    code = cli_main(
        [
            "druid", "ingest", "--warehouse", str(tiny_warehouse), "--druid", druid.overlord,
            "--broker", druid.broker, "--timeout", str(LOAD_TIMEOUT_S),
            "--datasource-prefix", TINY_PREFIX,
        ]
    )  # fmt: skip
    assert code == 0
    return tiny_warehouse


# ---------------------------------------------------------------- the backend under test


@dataclass(frozen=True)
class Subject:
    """A target over a data set, with what opening it needs (resolved outside the event
    loop: loading into Druid runs its own)."""

    target: Target
    data: Data
    broker: str | None


def _subject(request: pytest.FixtureRequest) -> Subject:
    target, name = request.param
    data: Data = request.getfixturevalue(f"{name}_data")
    broker = None
    if target.needs_druid:
        broker = request.getfixturevalue("druid").broker
        request.getfixturevalue(f"{name}_loaded")
    return Subject(target, data, broker)


@pytest.fixture(params=params())
def subject(request: pytest.FixtureRequest) -> Subject:
    """Every target over every data set it runs on."""
    return _subject(request)


@pytest.fixture(params=params(("handmade",)))
def handmade_subject(request: pytest.FixtureRequest) -> Subject:
    """Every target over the hand-built data set."""
    return _subject(request)


@pytest.fixture(params=params(("tiny",)))
def tiny_subject(request: pytest.FixtureRequest) -> Subject:
    """Every target over the ETL's tiny data set."""
    return _subject(request)


@pytest.fixture
async def backend(subject: Subject) -> AsyncIterator[Backend]:
    """The subject's backend, open for one test."""
    async with subject.target.open(subject.data, subject.broker) as opened:
        yield opened


@pytest.fixture
async def handmade_backend(handmade_subject: Subject) -> AsyncIterator[Backend]:
    """The hand-built subject's backend, open for one test."""
    async with handmade_subject.target.open(handmade_subject.data, handmade_subject.broker) as b:
        yield b


@pytest.fixture
async def tiny_backend(tiny_subject: Subject) -> AsyncIterator[Backend]:
    """The tiny subject's backend, open for one test."""
    async with tiny_subject.target.open(tiny_subject.data, tiny_subject.broker) as opened:
        yield opened
