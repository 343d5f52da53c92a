"""Backend test fixtures over the tiny raw data and its warehouse (both from
tests/conftest.py), with the exact truth of tests/truth.py in the oracle's form."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.backends.cases import Universe
from tests.backends.handmade import Dataset
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
