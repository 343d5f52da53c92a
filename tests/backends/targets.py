"""Every backend the conformance suite runs against, and the data sets it runs them on (the
role of Ibis's per-backend `TestConf` classes): adding a backend to the product means
adding one `Target` here.

A data set is a published warehouse plus the events behind it, from which the plain-Python
oracle (handmade.oracle) computes the exact answer of any query:
- `handmade`: events built directly in attributed form (handmade.make_dataset), small
  groups, so every sketch is in an exact mode and every distinct bound must hold;
- `tiny`: the ETL's tiny profile (raw files → `keyart etl ingest`), checked against the
  truth computed from the raw files (tests/truth.py); bounds must hold in ≥95% of groups.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keyart.backends.base import Backend
from keyart.backends.druid import DruidBackend
from keyart.backends.duckdb.backend import DuckDBBackend
from keyart.backends.embedded import EmbeddedBackend
from keyart.backends.legacy import LegacyBackend
from tests.backends import handmade
from tests.backends.cases import Universe

# a serving copy of the tiny warehouse takes a while on a loaded machine
SERVED_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Data:
    """A published warehouse and the events behind it."""

    name: str
    warehouse: Path
    events: handmade.Dataset
    universe: Universe
    lg_k: int
    serving_cache: Path  # where serving copies of this warehouse are built for tests
    druid_prefix: str  # the datasources it is loaded under in Druid
    # every group holds few members: sketches are exact, so every distinct bound holds
    small_groups: bool


@dataclass(frozen=True)
class Target:
    """One backend under test: how to open it over a data set, and what to expect of it."""

    id: str
    # distinct counts are exact (bounds equal to the value), not sketch estimates
    exact: bool
    opener: Callable[[Data, str | None], contextlib.AbstractAsyncContextManager[Backend]]
    marks: tuple[pytest.MarkDecorator, ...] = ()
    datasets: tuple[str, ...] = ("handmade", "tiny")
    # reads the serving copy, except for catalog-wide queries (planner.catalog_wide),
    # which read the day files: listing every asset makes it read the copy too
    copy_skips_catalog_wide: bool = False
    needs_druid: bool = False
    # the same question gets the very same estimates again (Druid unites sketches in the
    # order its segments answer, so its estimates may differ within their bounds)
    repeatable: bool = True

    def open(
        self, data: Data, broker: str | None = None
    ) -> contextlib.AbstractAsyncContextManager[Backend]:
        """The backend over `data` (Druid's at `broker`), closed on exit."""
        return self.opener(data, broker)


@contextlib.asynccontextmanager
async def opened(
    kind: type[DuckDBBackend],
    warehouse: Path,
    storage: str,
    *,
    cache_dir: Path | None = None,
    timeout: float = SERVED_TIMEOUT_S,
) -> AsyncIterator[DuckDBBackend]:
    """A `kind` backend over `warehouse` reading its day files ("files"), or its serving
    copy ("served", built in `cache_dir` when given) once that copy is ready; closed after."""
    served = storage == "served"
    backend = kind(warehouse, threads=2, serving=served, cache_dir=cache_dir if served else None)
    try:
        if served:
            assert await backend.wait_until_served(timeout=timeout)
        yield backend
    finally:
        await backend.aclose()


def _duckdb(
    kind: type[DuckDBBackend], storage: str
) -> Callable[[Data, str | None], contextlib.AbstractAsyncContextManager[Backend]]:
    def opener(data: Data, _broker: str | None) -> contextlib.AbstractAsyncContextManager[Any]:
        return opened(kind, data.warehouse, storage, cache_dir=data.serving_cache)

    return opener


def _druid(
    use_country_datasource: bool,
) -> Callable[[Data, str | None], contextlib.AbstractAsyncContextManager[Backend]]:
    @contextlib.asynccontextmanager
    async def opener(data: Data, broker: str | None) -> AsyncIterator[Backend]:
        assert broker is not None, "the Druid target needs the cluster's broker"
        backend = DruidBackend(
            broker,
            lg_k=data.lg_k,
            datasource_prefix=data.druid_prefix,
            use_country_datasource=use_country_datasource,
            timeout_s=60,
        )
        try:
            yield backend
        finally:
            await backend.aclose()

    return opener


_DRUID_MARKS = (pytest.mark.druid, pytest.mark.slow)

TARGETS: tuple[Target, ...] = (
    Target("embedded-files", False, _duckdb(EmbeddedBackend, "files")),
    Target(
        "embedded-served", False, _duckdb(EmbeddedBackend, "served"), copy_skips_catalog_wide=True
    ),
    Target("legacy-files", True, _duckdb(LegacyBackend, "files")),
    Target("legacy-served", True, _duckdb(LegacyBackend, "served")),
    # Druid answers from the smallest datasource that can (plan.choose_datasource) ...
    Target("druid", False, _druid(True), _DRUID_MARKS, needs_druid=True, repeatable=False),
    # ... and every query from the audience datasource alone gives the same answers
    Target(
        "druid-audience",
        False,
        _druid(False),
        _DRUID_MARKS,
        datasets=("handmade",),
        needs_druid=True,
        repeatable=False,
    ),
)


def params(
    datasets: tuple[str, ...] = ("handmade", "tiny"),
    where: Callable[[Target], bool] = lambda _target: True,
) -> list[Any]:
    """pytest params of every (target, data set) pair (of the targets `where` keeps), with
    the target's marks."""
    return [
        pytest.param((target, name), id=f"{target.id}-{name}", marks=target.marks)
        for target in TARGETS
        if where(target)
        for name in datasets
        if name in target.datasets
    ]


__all__ = ["TARGETS", "Data", "Target", "opened", "params"]
