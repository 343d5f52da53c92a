"""`Query.dataRange` and the `extensions.warnings` of windows outside the data and filter
values without data, over HTTP against the real tiny warehouse, checked against the raw events."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.harness import gql
from tests.truth import Truth

pytestmark = pytest.mark.asyncio(loop_scope="module")

ASSET_METRICS = """query($id: ID!, $start: Date!, $end: Date!, $filter: MetricFilter) {
  asset(id: $id) { metrics(window: {start: $start, end: $end}, filter: $filter) { impressions } }
}"""


def data_days(truth: Truth) -> list[date]:
    """Every day with a clean impression or play: what the warehouse holds."""
    return sorted({e.day for e in truth.impressions} | {e.day for e in truth.plays})


def warnings(payload: dict[str, Any]) -> list[dict[str, str]]:
    assert not payload.get("errors"), payload.get("errors")
    return list((payload.get("extensions") or {}).get("warnings", []))


async def test_data_range_is_the_days_of_the_raw_events(
    client: httpx.AsyncClient, truth: Truth
) -> None:
    days = data_days(truth)
    payload = await gql(client, "{ dataRange { first last days } }")
    assert payload["data"]["dataRange"] == {
        "first": days[0].isoformat(),
        "last": days[-1].isoformat(),
        "days": len(days),
    }
    assert warnings(payload) == []


async def test_window_outside_the_data_answers_zero_with_a_warning(
    client: httpx.AsyncClient, truth: Truth
) -> None:
    days = data_days(truth)
    asset = truth.busiest("asset", 1)[0]
    before = {
        "start": (days[0] - timedelta(days=30)).isoformat(),
        "end": (days[0] - timedelta(days=1)).isoformat(),
    }
    payload = await gql(client, ASSET_METRICS, {"id": asset, **before})
    assert payload["data"]["asset"]["metrics"]["impressions"] == 0
    [warning] = warnings(payload)
    assert warning["code"] == "WINDOW_OUTSIDE_DATA"
    assert before["start"] in warning["message"] and days[0].isoformat() in warning["message"]

    straddling = {"start": days[-3].isoformat(), "end": (days[-1] + timedelta(days=5)).isoformat()}
    payload = await gql(client, ASSET_METRICS, {"id": asset, **straddling})
    exact = truth.metrics(days[-3], days[-1], assets=[asset]).impressions
    assert payload["data"]["asset"]["metrics"]["impressions"] == exact > 0
    assert [w["code"] for w in warnings(payload)] == ["WINDOW_PARTLY_OUTSIDE_DATA"]

    inside = {"start": days[0].isoformat(), "end": days[-1].isoformat()}
    assert warnings(await gql(client, ASSET_METRICS, {"id": asset, **inside})) == []


async def test_filter_values_without_data_are_named(
    client: httpx.AsyncClient, truth: Truth
) -> None:
    days = data_days(truth)
    window = {"start": days[0].isoformat(), "end": days[-1].isoformat()}
    asset = truth.busiest("asset", 1)[0]
    title = truth.assets[asset].title_id
    present = truth.countries_of_title(title)[0]
    labels = sorted({x for e in truth.impressions if e.title == title for x in e.affinities})
    flt = {"countries": [present, "ZZ"], "affinities": [labels[0], "Nobody fans"]}
    payload = await gql(client, ASSET_METRICS, {"id": asset, **window, "filter": flt})
    exact = truth.metrics(days[0], days[-1], assets=[asset], **flt).impressions
    assert payload["data"]["asset"]["metrics"]["impressions"] == exact
    got = warnings(payload)
    assert [w["code"] for w in got] == ["NO_DATA_FOR_FILTER_VALUE"] * 2
    assert "ZZ" in got[0]["message"] and title in got[0]["message"]
    assert "Nobody fans" in got[1]["message"]
    assert not any(present in w["message"] or labels[0] in w["message"] for w in got)


async def test_a_warning_raised_by_many_fields_is_sent_once_and_cached_answers_keep_it(
    client: httpx.AsyncClient, truth: Truth
) -> None:
    title = truth.busiest("title", 1)[0]
    query = """query($id: ID!) { title(id: $id) { assets { id
        metrics(window: {start: "2020-01-01", end: "2020-01-31"}) { impressions } } } }"""
    metrics = client.app.state.keyart.metrics  # type: ignore[attr-defined]
    first = await gql(client, query, {"id": title})
    hits = metrics.response_cache_hits._value.get()
    second = await gql(client, query, {"id": title})
    assert metrics.response_cache_hits._value.get() == hits + 1  # answered from the cache
    assert len(first["data"]["title"]["assets"]) > 1
    assert [w["code"] for w in warnings(first)] == ["WINDOW_OUTSIDE_DATA"]
    assert second == first


async def test_exclusions_and_all_of_lists_name_values_without_data(
    client: httpx.AsyncClient, truth: Truth
) -> None:
    days = data_days(truth)
    window = {"start": days[0].isoformat(), "end": days[-1].isoformat()}
    asset = truth.busiest("asset", 1)[0]
    title = truth.assets[asset].title_id
    present = truth.countries_of_title(title)[0]
    flt = {
        "excludeCountries": [present, "ZY"],
        "affinitiesAll": ["Nobody fans"],
        "excludeAffinities": ["Nothing lovers"],
    }
    payload = await gql(client, ASSET_METRICS, {"id": asset, **window, "filter": flt})
    # a label nobody has makes the all-of filter match nothing
    assert payload["data"]["asset"]["metrics"]["impressions"] == 0
    got = warnings(payload)
    assert [w["message"].split(":")[0] for w in got] == [
        "filter.excludeCountries",
        "filter.affinitiesAll",
        "filter.excludeAffinities",
    ]
    assert "ZY" in got[0]["message"] and present not in got[0]["message"]


async def test_top_assets_names_filter_values_no_title_has(
    client: httpx.AsyncClient, truth: Truth
) -> None:
    days = data_days(truth)
    known = sorted({e.country for e in truth.impressions})[0]
    query = """query($w: DateRange!, $f: MetricFilter) {
      topAssets(window: $w, filter: $f, minImpressions: 0) { asset { id } } }"""
    window = {"start": days[0].isoformat(), "end": days[-1].isoformat()}
    payload = await gql(client, query, {"w": window, "f": {"countries": [known, "ZX"]}})
    got = warnings(payload)
    assert [w["code"] for w in got] == ["NO_DATA_FOR_FILTER_VALUE"]
    assert "ZX" in got[0]["message"] and "catalog" in got[0]["message"]
    assert payload["data"]["topAssets"], "the known country still ranks assets"
