"""Compile a `MetricQuery` into a Druid native query (timeseries or groupBy JSON).

Built with pydruid's builders where they fit (filters, dimension specs, longSum, the query
dict) and plain dict specs for the DataSketches HLL aggregator and post-aggregator, which
pydruid has no helper for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydruid.query import QueryBuilder
from pydruid.utils import aggregators
from pydruid.utils.dimensions import DimensionSpec, ListFilteredSpec
from pydruid.utils.filters import Dimension as DruidDimension
from pydruid.utils.filters import Filter as DruidFilter
from pydruid.utils.postaggregator import Field, Postaggregator

from keyart.backends.druid.plan import choose_datasource
from keyart.backends.druid.specs import COLUMN_OF_METRIC, Datasources, column_of
from keyart.errors import ConfigError
from keyart.query.ir import Dimension, Granularity, MetricQuery
from keyart.sketches.params import MAX_LG_K, MIN_LG_K, NUM_STD_DEV

TGT_HLL_TYPE = "HLL_4"

# ISO-8601 periods in UTC; Druid aligns P1W to Mondays and P1M to the 1st when no origin
# is given (PeriodGranularity.truncate), matching keyart.query.time.bucket_start.
_PERIODS: dict[Granularity, str] = {
    Granularity.DAY: "P1D",
    Granularity.WEEK: "P1W",
    Granularity.MONTH: "P1M",
}


@dataclass(frozen=True, slots=True)
class CompileOptions:
    """Where and how to run compiled queries: datasources, sketch precision, timeout."""

    datasources: Datasources = field(default_factory=Datasources)
    use_country_datasource: bool = True
    lg_k: int = 14
    timeout_ms: int = 10_000
    # extra Druid query context sent with every query (e.g. {"maxOnDiskStorage": 0} to
    # forbid groupBy spilling); keys set by the compiler win
    context: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # a huge lgK makes Druid's data servers run out of heap (and exit), so never send one
        if not MIN_LG_K <= self.lg_k <= MAX_LG_K:
            raise ConfigError(
                f"Druid sketch lgK must be within {MIN_LG_K}..{MAX_LG_K}, got {self.lg_k}"
            )
        if self.timeout_ms <= 0:
            raise ConfigError(f"Druid query timeout must be > 0 ms, got {self.timeout_ms}")


class _EstimateWithBounds(Postaggregator):  # type: ignore[misc, unused-ignore]  # untyped base
    """The HLLSketchEstimateWithBounds post-aggregator over one sketch aggregator."""

    def __init__(self, sketch_aggregator: str, name: str) -> None:
        Postaggregator.__init__(self, None, None, name)
        self.post_aggregator = {
            "type": "HLLSketchEstimateWithBounds",
            "name": name,
            "field": Field(sketch_aggregator).post_aggregator,
            "numStdDev": NUM_STD_DEV,
        }


def datasource_for(query: MetricQuery, options: CompileOptions) -> str:
    """The datasource that answers a query under these options (plan.choose_datasource)."""
    return choose_datasource(
        query, options.datasources, use_country_datasource=options.use_country_datasource
    )


def interval_of(query: MetricQuery) -> str:
    """The query's days as a half-open ISO interval in UTC."""
    return f"{_instant(query.interval.start)}/{_instant(query.interval.end_exclusive)}"


def granularity_of(granularity: Granularity) -> str | dict[str, str]:
    """The Druid granularity spec of an IR granularity (UTC periods, or "all")."""
    if granularity is Granularity.ALL:
        return "all"
    return {"type": "period", "period": _PERIODS[granularity], "timeZone": "UTC"}


def _any_of(column: str, values: tuple[str, ...]) -> DruidFilter:
    """A selector for one value, an `in` filter for several; on the multi-value affinity
    column it matches a row when any of the row's labels is listed."""
    if len(values) == 1:
        return DruidDimension(column) == values[0]
    return DruidFilter(type="in", dimension=column, values=list(values))


def filter_of(query: MetricQuery) -> DruidFilter | None:
    """The conjunction of the query's constraints as a native filter tree.

    Any-of lists are selector / `in` filters (multi-value any-of for affinities). On the
    multi-value affinity column, all-of is an `and` of selectors (a row matches a selector
    when any of its labels equals it, so every label must be present) and none-of is
    `not(in)` — which under Druid's default SQL three-valued logic is *unknown*, hence
    false, on a row without labels (stored as null); an `or` with a null selector keeps
    those rows, as the contract says (a member with no labels has none of them).
    Excluded countries are `not(in)` on the always-set country column."""
    flt = query.filter
    parts: list[DruidFilter] = []
    for dim, values in flt.constraints().items():
        parts.append(_any_of(column_of(dim), values))
    if flt.exclude_countries is not None:
        column = column_of(Dimension.COUNTRY)
        parts.append(DruidFilter(type="not", field=_any_of(column, flt.exclude_countries)))
    labels = column_of(Dimension.AFFINITY)
    for label in flt.affinities_all or ():
        parts.append(DruidDimension(labels) == label)
    if flt.exclude_affinities is not None:
        none_of = DruidFilter(type="not", field=_any_of(labels, flt.exclude_affinities))
        # a selector without a value matches null (pydruid has no `null` filter type)
        no_labels = DruidFilter(type="selector", dimension=labels, value=None)
        parts.append(DruidFilter(type="or", fields=[no_labels, none_of]))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return DruidFilter(type="and", fields=parts)


def dimensions_of(query: MetricQuery) -> list[dict[str, Any]]:
    """Group-by dimension specs; affinity is listFiltered to the filtered labels, if any."""
    specs: list[dict[str, Any]] = []
    for dim in query.group_by:
        filter_spec = None
        if dim is Dimension.AFFINITY and query.filter.affinities is not None:
            # only the listed labels form groups (a row's other labels would otherwise too)
            filter_spec = ListFilteredSpec(list(query.filter.affinities))
        specs.append(DimensionSpec(column_of(dim), dim.value, filter_spec=filter_spec).build())
    return specs


def aggregations_of(query: MetricQuery, lg_k: int) -> dict[str, dict[str, Any]]:
    """Aggregators for the requested metrics: longSum for counts, HLLSketchMerge for sketches."""
    aggs: dict[str, dict[str, Any]] = {}
    for metric in query.metrics:
        if metric.is_sketch:
            column = COLUMN_OF_METRIC[metric]
            aggs[column] = {
                "type": "HLLSketchMerge",
                "fieldName": column,
                "lgK": lg_k,
                "tgtHllType": TGT_HLL_TYPE,
            }
        else:
            # named after the metric, which parse_result reads
            aggs[metric.value] = aggregators.longsum(COLUMN_OF_METRIC[metric])
    return aggs


def post_aggregations_of(query: MetricQuery) -> dict[str, Postaggregator]:
    """Estimate-with-bounds post-aggregators named after the distinct-count metrics."""
    return {
        metric.value: _EstimateWithBounds(COLUMN_OF_METRIC[metric], metric.value)
        for metric in query.metrics
        if metric.is_sketch
    }


def compile_query(query: MetricQuery, options: CompileOptions) -> dict[str, Any]:
    """The Druid native query answering `query`: timeseries without group-by, else groupBy."""
    args: dict[str, Any] = {
        "datasource": datasource_for(query, options),
        "granularity": granularity_of(query.granularity),
        "intervals": [interval_of(query)],
        "filter": filter_of(query),
        "aggregations": aggregations_of(query, options.lg_k),
    }
    post = post_aggregations_of(query)
    if post:
        args["post_aggregations"] = post
    context: dict[str, Any] = {**options.context, "timeout": options.timeout_ms}
    builder = QueryBuilder()
    if not query.group_by:
        # groups without data are absent in every backend: no zero-filled buckets
        context["skipEmptyBuckets"] = True
        args["context"] = context
        built = builder.timeseries(args)
    else:
        # one group per label of a multi-value row (Druid's default, stated for clarity)
        context["groupByEnableMultiValueUnnesting"] = True
        args["context"] = context
        args["dimensions"] = dimensions_of(query)
        built = builder.groupby(args)
    body: dict[str, Any] = built.query_dict
    if body.get("filter") is None:
        body.pop("filter", None)
    return body


def _instant(day: date) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


__all__ = [
    "CompileOptions",
    "aggregations_of",
    "compile_query",
    "datasource_for",
    "dimensions_of",
    "filter_of",
    "granularity_of",
    "interval_of",
    "post_aggregations_of",
]
