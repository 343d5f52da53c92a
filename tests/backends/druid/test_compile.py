"""Golden tests of the IR → Druid native query compiler (one golden JSON per IR feature).

Run with KEYART_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from keyart.backends.druid.compile import CompileOptions, compile_query, datasource_for
from keyart.backends.druid.specs import Datasources
from keyart.query import Dimension, Filter, Granularity, Interval, Metric, MetricQuery

GOLDEN = Path(__file__).parent / "golden"
JAN = Interval(date(2024, 1, 3), date(2024, 1, 30))
OPTIONS = CompileOptions(timeout_ms=7_000)

CASES: dict[str, tuple[MetricQuery, CompileOptions]] = {
    # query types and granularities
    "timeseries_all": (MetricQuery(JAN), OPTIONS),
    "timeseries_day": (MetricQuery(JAN, Granularity.DAY), OPTIONS),
    "timeseries_week": (MetricQuery(JAN, Granularity.WEEK), OPTIONS),
    "timeseries_month": (
        MetricQuery(Interval(date(2024, 1, 15), date(2024, 3, 10)), Granularity.MONTH),
        OPTIONS,
    ),
    "single_day_interval": (MetricQuery(Interval(date(2024, 2, 29), date(2024, 2, 29))), OPTIONS),
    # filter kinds: one value → selector, several → in, several dims → and
    "filter_country_selector": (MetricQuery(JAN, filter=Filter(countries=("US",))), OPTIONS),
    "filter_countries_in": (MetricQuery(JAN, filter=Filter(countries=("US", "DE"))), OPTIONS),
    "filter_asset_types": (MetricQuery(JAN, filter=Filter(asset_types=("video",))), OPTIONS),
    "filter_title_ids": (MetricQuery(JAN, filter=Filter(title_ids=("t2", "t1"))), OPTIONS),
    "filter_asset_ids": (
        MetricQuery(JAN, filter=Filter(asset_ids=("a3", "a1", "a2"))),
        OPTIONS,
    ),
    "filter_affinity_selector": (
        MetricQuery(JAN, filter=Filter(affinities=("Pop Culture enthusiasts",))),
        OPTIONS,
    ),
    "filter_affinities_in": (
        MetricQuery(JAN, filter=Filter(affinities=("Character Drama fans", "Anime fans"))),
        OPTIONS,
    ),
    "filter_combined": (
        MetricQuery(
            JAN,
            filter=Filter(
                title_ids=("t1",),
                asset_ids=("a1", "a2"),
                asset_types=("artwork",),
                countries=("US", "BR"),
                affinities=("Anime fans",),
            ),
        ),
        OPTIONS,
    ),
    # exclusions, all-of and none-of over the multi-value affinity column
    "filter_exclude_country": (MetricQuery(JAN, filter=Filter(exclude_countries=("US",))), OPTIONS),
    "filter_exclude_countries": (
        MetricQuery(JAN, filter=Filter(exclude_countries=("US", "DE"))),
        OPTIONS,
    ),
    "filter_affinities_all": (
        MetricQuery(JAN, filter=Filter(affinities_all=("Anime fans", "K-Drama fans"))),
        OPTIONS,
    ),
    "filter_exclude_affinity": (
        MetricQuery(JAN, filter=Filter(exclude_affinities=("True Crime buffs",))),
        OPTIONS,
    ),
    "filter_exclude_affinities": (
        MetricQuery(JAN, filter=Filter(exclude_affinities=("True Crime buffs", "Anime fans"))),
        OPTIONS,
    ),
    "filter_any_all_none_combined": (
        MetricQuery(
            JAN,
            filter=Filter(
                countries=("US", "BR", "DE"),
                exclude_countries=("DE",),
                affinities=("Anime fans", "K-Drama fans", "True Crime buffs"),
                affinities_all=("Character Drama fans",),
                exclude_affinities=("True Crime buffs",),
            ),
        ),
        OPTIONS,
    ),
    "group_by_affinity_all_none": (
        MetricQuery(
            JAN,
            filter=Filter(affinities_all=("Anime fans",), exclude_affinities=("True Crime buffs",)),
            group_by=(Dimension.AFFINITY,),
        ),
        OPTIONS,
    ),
    # group-bys
    "group_by_asset": (
        MetricQuery(JAN, filter=Filter(asset_ids=("a1", "a2")), group_by=(Dimension.ASSET,)),
        OPTIONS,
    ),
    "group_by_title": (MetricQuery(JAN, group_by=(Dimension.TITLE,)), OPTIONS),
    "group_by_asset_type": (MetricQuery(JAN, group_by=(Dimension.ASSET_TYPE,)), OPTIONS),
    "group_by_country_day": (
        MetricQuery(JAN, Granularity.DAY, group_by=(Dimension.COUNTRY,)),
        OPTIONS,
    ),
    "group_by_affinity": (MetricQuery(JAN, group_by=(Dimension.AFFINITY,)), OPTIONS),
    "group_by_affinity_filtered": (
        MetricQuery(
            JAN,
            filter=Filter(affinities=("Anime fans", "Character Drama fans")),
            group_by=(Dimension.AFFINITY,),
        ),
        OPTIONS,
    ),
    "group_by_asset_affinity_week": (
        MetricQuery(
            JAN,
            Granularity.WEEK,
            filter=Filter(countries=("US",), affinities=("Anime fans",)),
            group_by=(Dimension.ASSET, Dimension.AFFINITY),
        ),
        OPTIONS,
    ),
    # metric subsets
    "metrics_counts_only": (
        MetricQuery(JAN, metrics=(Metric.IMPRESSIONS, Metric.PLAY_SECONDS)),
        OPTIONS,
    ),
    "metrics_sketches_only": (
        MetricQuery(
            JAN,
            group_by=(Dimension.COUNTRY,),
            metrics=(Metric.UNIQUE_PLAYERS, Metric.UNIQUE_IMPRESSIONS),
        ),
        OPTIONS,
    ),
    # options: sketch precision, datasource prefix, no country datasource
    "options_lgk12_prefix_audience_only": (
        MetricQuery(JAN, filter=Filter(countries=("US",))),
        CompileOptions(
            datasources=Datasources("test_"),
            use_country_datasource=False,
            lg_k=12,
            timeout_ms=250,
        ),
    ),
}


def _golden(name: str, actual: dict[str, Any]) -> dict[str, Any]:
    path = GOLDEN / f"{name}.json"
    if os.environ.get("KEYART_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    if not path.exists():
        pytest.fail(f"missing golden file {path}; run with KEYART_UPDATE_GOLDEN=1 to create it")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_query_matches_golden(name: str) -> None:
    query, options = CASES[name]
    actual = compile_query(query, options)
    # a round trip through JSON: the body must be plain JSON, equal to the golden file
    assert json.loads(json.dumps(actual)) == _golden(name, actual)


def test_every_golden_file_has_a_case() -> None:
    assert {p.stem for p in GOLDEN.glob("*.json")} == set(CASES)


def test_query_type_follows_group_by() -> None:
    for query, options in CASES.values():
        body = compile_query(query, options)
        assert body["queryType"] == ("groupBy" if query.group_by else "timeseries")
        if query.group_by:
            assert [
                d.get("outputName") or d["delegate"]["outputName"] for d in body["dimensions"]
            ] == [d.value for d in query.group_by]
        else:
            assert body["context"]["skipEmptyBuckets"] is True


def test_extra_context_is_sent_but_never_overrides_the_compilers_keys() -> None:
    options = CompileOptions(timeout_ms=7_000, context={"maxOnDiskStorage": 0, "timeout": 1})
    for query, _ in CASES.values():
        context = compile_query(query, options)["context"]
        assert context["maxOnDiskStorage"] == 0
        assert context["timeout"] == 7_000


def test_interval_is_half_open_utc_days() -> None:
    body = compile_query(MetricQuery(Interval(date(2023, 12, 31), date(2024, 2, 29))), OPTIONS)
    assert body["intervals"] == ["2023-12-31T00:00:00.000Z/2024-03-01T00:00:00.000Z"]


def test_affinity_grouping_is_list_filtered_exactly_when_affinities_are_filtered() -> None:
    labels = ("b fans", "a fans")
    filtered = compile_query(
        MetricQuery(JAN, filter=Filter(affinities=labels), group_by=(Dimension.AFFINITY,)),
        OPTIONS,
    )
    spec = filtered["dimensions"][0]
    assert spec["type"] == "listFiltered"
    assert spec["values"] == sorted(labels)
    assert spec["delegate"] == {
        "type": "default",
        "dimension": "affinities",
        "outputName": "affinity",
    }
    plain = compile_query(MetricQuery(JAN, group_by=(Dimension.AFFINITY,)), OPTIONS)
    assert plain["dimensions"][0]["type"] == "default"


def test_datasource_choice() -> None:
    options = CompileOptions()
    assert datasource_for(MetricQuery(JAN), options) == "keyart_asset_country_day"
    for query in (
        MetricQuery(JAN, filter=Filter(affinities=("x",))),
        MetricQuery(JAN, group_by=(Dimension.AFFINITY,)),
    ):
        assert datasource_for(query, options) == "keyart_asset_audience_day"
    for flt in (Filter(affinities_all=("x",)), Filter(exclude_affinities=("x",))):
        assert datasource_for(MetricQuery(JAN, filter=flt), options).endswith("audience_day")
    assert datasource_for(MetricQuery(JAN, filter=Filter(exclude_countries=("US",))), options) == (
        "keyart_asset_country_day"
    )
    no_country = CompileOptions(use_country_datasource=False)
    assert datasource_for(MetricQuery(JAN), no_country) == "keyart_asset_audience_day"


def test_none_of_keeps_rows_without_labels_and_all_of_requires_each_label() -> None:
    """Druid's three-valued logic makes not(selector) false on a null label set: none-of
    must say "no labels, or none of these" explicitly; all-of is one selector per label."""
    body = compile_query(
        MetricQuery(JAN, filter=Filter(affinities_all=("b", "a"), exclude_affinities=("c",))),
        OPTIONS,
    )
    fields = body["filter"]["fields"]
    assert {"type": "selector", "dimension": "affinities", "value": "a"} in fields
    assert {"type": "selector", "dimension": "affinities", "value": "b"} in fields
    assert {
        "type": "or",
        "fields": [
            {"type": "selector", "dimension": "affinities", "value": None},
            {"type": "not", "field": {"type": "selector", "dimension": "affinities", "value": "c"}},
        ],
    } in fields
    assert MetricQuery(
        JAN, filter=Filter(affinities_all=("a",), exclude_affinities=("a",))
    ).matches_nothing
