"""Picks the Druid datasource that answers a query: the smaller one without affinities when
the query involves none (when a query exceeds Druid's groupBy memory, split.py plans the
parts that answer it instead)."""

from __future__ import annotations

from keyart.backends.druid.specs import Datasources
from keyart.query.ir import MetricQuery


def choose_datasource(
    query: MetricQuery, datasources: Datasources, *, use_country_datasource: bool = True
) -> str:
    """The datasource that answers a query: the country one (no affinities, fewer rows)
    when allowed and the query neither filters nor groups by affinity, else the audience
    one (multi-value label sets), which answers every query."""
    if use_country_datasource and not query.uses_affinities:
        return datasources.country
    return datasources.audience


__all__ = ["choose_datasource"]
