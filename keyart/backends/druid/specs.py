"""Druid-side names shared by the query compiler and the ingestion: datasources and columns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from keyart.query.ir import Dimension, Metric
from keyart.warehouse.tables import (
    ASSET_AUDIENCE_DAY,
    ASSET_COUNTRY_DAY,
    COUNT_MEASURES,
    MEASURE_OF,
    SKETCH_MEASURES,
    Rollup,
)

DEFAULT_PREFIX = "keyart_"

# Druid column names: the warehouse rollup column names, except the multi-value affinity set.
AFFINITIES_COLUMN = "affinities"
SINGLE_VALUE_DIMENSIONS: tuple[str, ...] = ("title_id", "asset_id", "asset_type", "country")
COUNT_COLUMNS: tuple[str, ...] = COUNT_MEASURES
SKETCH_COLUMNS: tuple[str, ...] = SKETCH_MEASURES
# a `count` metric added at ingestion: the number of warehouse rows behind each Druid row,
# so that a load can be verified exactly against the warehouse
ROWS_COLUMN = "rows"

# the Druid column behind each metric: the warehouse measure column, loaded as it is
COLUMN_OF_METRIC: Mapping[Metric, str] = MEASURE_OF

# rollups loaded into Druid: the multi-value one answers everything, the country one is a
# smaller datasource for queries that involve no affinity
LOADED_ROLLUPS: tuple[Rollup, ...] = (ASSET_AUDIENCE_DAY, ASSET_COUNTRY_DAY)


def column_of(dim: Dimension) -> str:
    """The Druid column that holds a dimension."""
    return AFFINITIES_COLUMN if dim is Dimension.AFFINITY else dim.value


@dataclass(frozen=True, slots=True)
class Datasources:
    """The Druid datasource names of the loaded rollups, under a configurable prefix."""

    prefix: str = DEFAULT_PREFIX

    def of(self, rollup: Rollup | str) -> str:
        """The datasource name of one rollup."""
        return self.prefix + (rollup if isinstance(rollup, str) else rollup.name)

    @property
    def audience(self) -> str:
        """The multi-value datasource (affinity label sets); answers every query."""
        return self.of(ASSET_AUDIENCE_DAY)

    @property
    def country(self) -> str:
        """The datasource without affinities; smaller, for affinity-free queries."""
        return self.of(ASSET_COUNTRY_DAY)


__all__ = [
    "AFFINITIES_COLUMN",
    "COLUMN_OF_METRIC",
    "COUNT_COLUMNS",
    "DEFAULT_PREFIX",
    "LOADED_ROLLUPS",
    "ROWS_COLUMN",
    "SINGLE_VALUE_DIMENSIONS",
    "SKETCH_COLUMNS",
    "Datasources",
    "column_of",
]
