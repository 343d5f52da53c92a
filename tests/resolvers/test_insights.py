"""Insights over HTTP on the generated `demo` world, per backend: what the generator planted
is found (recall) and nothing is flagged where nothing was planted (false positives)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from keyart.config import ApiSettings
from keyart.etl.generator import GenerateSummary
from keyart.server import build_backend
from tests.e2e.harness import api, data, gql

TITLES = """
query ($w: DateRange!, $m: InsightMetric) {
  titles(first: 500) { edges { node { id
    outliers(window: $w, metric: $m) { asset { id title { id } } metric direction value
                                       peerMedian score pValue reason }
  } } }
}"""
APPEAL = """
query ($w: DateRange!) {
  titles(first: 500) { edges { node { assets { id appeal(window: $w) {
    verdict effectiveness authenticity reason } } } } }
}"""
ALL_TIME = """
query ($m: InsightMetric) {
  titles(first: 500) { edges { node {
    allTimeOutliers(metric: $m) { asset { id } direction value peerMedian score pValue }
    assets { id allTimeAppeal { verdict effectiveness authenticity } }
  } } }
}"""


@pytest.fixture(scope="module", params=["embedded", "legacy"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(
    insights_world: tuple[Path, GenerateSummary], backend: str
) -> AsyncIterator[httpx.AsyncClient]:
    warehouse, _ = insights_world
    served = build_backend(ApiSettings(warehouse=warehouse, backend=backend))  # type: ignore[arg-type]
    try:
        async with api(warehouse, backend=served, snapshot_poll_s=3600) as c:
            yield c
    finally:
        await served.aclose()  # the app closes only the backends it creates


@pytest.fixture(scope="module")
def summary(insights_world: tuple[Path, GenerateSummary]) -> GenerateSummary:
    return insights_world[1]


def everything(s: GenerateSummary) -> dict[str, str]:
    return {"start": s.start.isoformat(), "end": s.end.isoformat()}


def _executor(client: httpx.AsyncClient) -> Any:
    return client.app.state.keyart.executor  # type: ignore[attr-defined]


async def _outliers(
    client: httpx.AsyncClient, s: GenerateSummary, metric: str
) -> list[dict[str, Any]]:
    found = await data(client, TITLES, {"w": everything(s), "m": metric})
    return [o for e in found["titles"]["edges"] for o in e["node"]["outliers"]]


@pytest.mark.asyncio(loop_scope="module")
async def test_take_rate_outliers_are_exactly_the_planted_ones(
    client: httpx.AsyncClient, summary: GenerateSummary
) -> None:
    flagged = await _outliers(client, summary, "TAKE_RATE")
    assert {o["asset"]["id"] for o in flagged} == set(summary.outlier_asset_ids)
    for o in flagged:
        assert o["direction"] == "LOW" and o["metric"] == "TAKE_RATE"
        assert o["value"] < o["peerMedian"] / 5.8 and o["score"] <= -3.5 and o["pValue"] <= 0.05
        assert "below the median" in o["reason"]


@pytest.mark.asyncio(loop_scope="module")
async def test_authenticity_outliers_are_exactly_the_planted_clickbait(
    client: httpx.AsyncClient, summary: GenerateSummary
) -> None:
    flagged = await _outliers(client, summary, "AUTHENTICITY")
    assert {o["asset"]["id"] for o in flagged} == set(summary.clickbait_asset_ids)
    assert all(o["direction"] == "LOW" for o in flagged)


@pytest.mark.asyncio(loop_scope="module")
async def test_outliers_of_all_titles_take_one_backend_query(
    client: httpx.AsyncClient, summary: GenerateSummary
) -> None:
    window = {"start": summary.start.isoformat(), "end": summary.start.isoformat()}
    executor = _executor(client)
    before = executor.backend_queries
    await data(client, TITLES, {"w": window, "m": "QUALIFIED_PLAYS"})
    assert executor.backend_queries - before == 1


@pytest.mark.asyncio(loop_scope="module")
async def test_appeal_finds_the_planted_clickbait_and_underperformers(
    client: httpx.AsyncClient, summary: GenerateSummary
) -> None:
    found = await data(client, APPEAL, {"w": everything(summary)})
    verdicts = {a["id"]: a["appeal"] for e in found["titles"]["edges"] for a in e["node"]["assets"]}
    clickbait = {a for a, v in verdicts.items() if v["verdict"] == "CLICKBAIT"}
    assert clickbait == set(summary.clickbait_asset_ids)
    for asset in summary.clickbait_asset_ids:
        assert verdicts[asset]["effectiveness"] > 1.2 > 0.5 > verdicts[asset]["authenticity"]
    for asset in summary.outlier_asset_ids:
        assert verdicts[asset]["verdict"] == "UNDERPERFORMING", verdicts[asset]
    # every verdict has its reason; some assets lack the data for one
    assert all(v["reason"] for v in verdicts.values())
    assert any(v["verdict"] == "INSUFFICIENT_DATA" for v in verdicts.values())


@pytest.mark.asyncio(loop_scope="module")
async def test_all_time_answers_from_the_snapshot_match_the_full_window(
    client: httpx.AsyncClient, summary: GenerateSummary, backend: str
) -> None:
    if backend != "embedded":
        pytest.skip("the snapshot holds sketch estimates: compared with the embedded backend")
    for metric in ("TAKE_RATE", "AUTHENTICITY"):
        windowed = await _outliers(client, summary, metric)
        stored = await data(client, ALL_TIME, {"m": metric})
        from_snapshot = [o for e in stored["titles"]["edges"] for o in e["node"]["allTimeOutliers"]]
        assert [o["asset"]["id"] for o in from_snapshot] == [o["asset"]["id"] for o in windowed]
        for a, b in zip(from_snapshot, windowed, strict=True):
            # all-time sketches are merged once, a window's unioned per day: estimates (and
            # so scores) differ within the sketch error
            assert a["score"] == pytest.approx(b["score"], rel=0.02)
    appeal = await data(client, APPEAL, {"w": everything(summary)})
    windowed_verdicts = {
        a["id"]: a["appeal"]["verdict"]
        for e in appeal["titles"]["edges"]
        for a in e["node"]["assets"]
    }
    stored_verdicts = {
        a["id"]: a["allTimeAppeal"]["verdict"]
        for e in stored["titles"]["edges"]
        for a in e["node"]["assets"]
    }
    # a verdict at a threshold may flip within the sketch error; the planted ones do not
    assert stored_verdicts.keys() == windowed_verdicts.keys()
    differing = [a for a in stored_verdicts if stored_verdicts[a] != windowed_verdicts[a]]
    assert len(differing) <= 0.005 * len(stored_verdicts), differing
    planted = (*summary.clickbait_asset_ids, *summary.outlier_asset_ids)
    assert not set(differing) & set(planted)


COMPARE = """
query ($ids: [ID!]!, $w: DateRange!, $b: ID) {
  compare(assets: $ids, window: $w, baseline: $b) {
    baseline { id }
    entries { asset { id } metrics { takeRate { value } uniqueImpressions { value } }
              takeRateLift { value lower upper } probabilityBetter significant }
  }
}"""
ASSETS = """
query { titles(first: 500) { edges { node { id assets { id type
  allTime { uniqueImpressions { value } takeRate { value } } } } } } }"""


async def _catalog(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    found = await data(client, ASSETS)
    return {
        a["id"]: {**a, "title": e["node"]["id"]}
        for e in found["titles"]["edges"]
        for a in e["node"]["assets"]
    }


@pytest.mark.asyncio(loop_scope="module")
async def test_compare_finds_the_clickbait_better_and_a_small_sample_never_significant(
    client: httpx.AsyncClient, summary: GenerateSummary
) -> None:
    catalog = await _catalog(client)
    bait = summary.clickbait_asset_ids[0]
    peer = next(
        a
        for a, info in catalog.items()
        if info["title"] == catalog[bait]["title"]
        and a != bait
        and info["type"] == catalog[bait]["type"]
    )
    small = min(catalog, key=lambda a: catalog[a]["allTime"]["uniqueImpressions"]["value"] or 1e9)
    found = await data(client, COMPARE, {"ids": [bait, small], "w": everything(summary), "b": peer})
    result = found["compare"]
    assert result["baseline"]["id"] == peer
    entries = {e["asset"]["id"]: e for e in result["entries"]}
    assert list(entries) == [peer, bait, small]  # the baseline leads when not listed
    base, better, tiny = entries[peer], entries[bait], entries[small]
    assert base["takeRateLift"] == {"value": 1.0, "lower": 1.0, "upper": 1.0}
    assert not base["significant"] and base["probabilityBetter"] == 0.5
    ratio = better["metrics"]["takeRate"]["value"] / base["metrics"]["takeRate"]["value"]
    lift = better["takeRateLift"]
    assert lift["value"] == pytest.approx(ratio) and lift["lower"] < ratio < lift["upper"]
    assert better["significant"] and better["probabilityBetter"] > 0.99
    assert not tiny["significant"]


@pytest.mark.asyncio(loop_scope="module")
async def test_compare_rejects_unknown_assets(
    client: httpx.AsyncClient, summary: GenerateSummary
) -> None:
    payload = await gql(client, COMPARE, {"ids": ["a-nope"], "w": everything(summary)})
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "a-nope" in payload["errors"][0]["message"]


CHANGE = """
query ($id: ID!, $w: DateRange!, $p: DateRange, $pw: DateRange!) {
  title(id: $id) {
    change(window: $w, previous: $p) {
      window { start end } previousWindow { start end }
      current { uniqueImpressions { value } takeRate { value } }
      previous { uniqueImpressions { value } takeRate { value } }
      changes { metric current previous difference { value lower upper } ratio pValue
                significant }
    }
    now: metrics(window: $w) { uniqueImpressions { value } takeRate { value } }
    before: metrics(window: $pw) { uniqueImpressions { value } takeRate { value } }
  }
}"""


@pytest.mark.asyncio(loop_scope="module")
async def test_period_over_period_compares_with_the_window_just_before(
    client: httpx.AsyncClient, summary: GenerateSummary
) -> None:
    title = (await _catalog(client))[summary.clickbait_asset_ids[0]]["title"]
    end = summary.end
    window = {"start": (end - timedelta(days=29)).isoformat(), "end": end.isoformat()}
    before = {
        "start": (end - timedelta(days=59)).isoformat(),
        "end": (end - timedelta(days=30)).isoformat(),
    }
    found = (await data(client, CHANGE, {"id": title, "w": window, "pw": before}))["title"]
    change = found["change"]
    assert change["window"] == window and change["previousWindow"] == before
    assert change["current"] == found["now"] and change["previous"] == found["before"]
    by_metric = {c["metric"]: c for c in change["changes"]}
    take = by_metric["TAKE_RATE"]
    assert take["current"] == pytest.approx(found["now"]["takeRate"]["value"])
    diff = take["difference"]
    assert diff["value"] == pytest.approx(take["current"] - take["previous"])
    assert diff["lower"] < diff["value"] < diff["upper"]
    # a window against itself: no change, never significant
    same = await data(client, CHANGE, {"id": title, "w": window, "p": window, "pw": window})
    for c in same["title"]["change"]["changes"]:
        assert c["difference"]["value"] == 0 and not c["significant"] and c["pValue"] == 1.0


ANOMALIES = """
query ($ids: [ID!]!, $w: DateRange!, $g: Granularity, $m: InsightMetric) {
  assets(ids: $ids) { id anomalies(window: $w, granularity: $g, metric: $m) {
    date direction value expected score } }
}"""


@pytest.mark.asyncio(loop_scope="module")
async def test_anomalies_stay_at_the_false_positive_rate_where_nothing_changes_over_time(
    client: httpx.AsyncClient, summary: GenerateSummary
) -> None:
    # the generator keeps every asset's take rate and authenticity steady over time (only
    # volumes move, with launches and weekdays): at most the documented 5% of the busiest
    # assets' series may show an anomaly (the few real ones are audience shifts at launch)
    catalog = await _catalog(client)
    busiest = sorted(catalog, key=lambda a: -catalog[a]["allTime"]["uniqueImpressions"]["value"])
    ids = busiest[:100]
    executor = _executor(client)
    flagged = 0
    for metric, granularity in (
        ("TAKE_RATE", "DAY"),
        ("AUTHENTICITY", "DAY"),
        ("TAKE_RATE", "WEEK"),
    ):
        before = executor.backend_queries
        found = await data(
            client, ANOMALIES, {"ids": ids, "w": everything(summary), "m": metric, "g": granularity}
        )
        assert executor.backend_queries - before <= 1  # one series query for all 100
        flagged += sum(1 for a in found["assets"] if a["anomalies"])
        for a in found["assets"]:
            for anomaly in a["anomalies"]:
                assert abs(anomaly["score"]) >= 3.5
                assert (anomaly["value"] > anomaly["expected"]) == (anomaly["direction"] == "HIGH")
    assert flagged <= 0.05 * 3 * len(ids)


@pytest.mark.asyncio(loop_scope="module")
async def test_bad_insight_arguments_are_clear_errors(
    client: httpx.AsyncClient, summary: GenerateSummary, backend: str
) -> None:
    if backend != "embedded":
        pytest.skip("argument checks happen before any backend query")
    ids = list(await _catalog(client))[:51]
    too_many = await gql(client, COMPARE, {"ids": ids, "w": everything(summary)})
    assert "at most 50 assets" in too_many["errors"][0]["message"]
    none = await gql(client, COMPARE, {"ids": [], "w": everything(summary)})
    assert "at least one asset" in none["errors"][0]["message"]
    backwards = {"start": summary.end.isoformat(), "end": summary.start.isoformat()}
    title = next(iter((await _catalog(client)).values()))["title"]
    window = everything(summary)
    reversed_previous = await gql(
        client, CHANGE, {"id": title, "w": window, "p": backwards, "pw": window}
    )
    assert reversed_previous["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "before its start" in reversed_previous["errors"][0]["message"]


PAGE = """
query ($ids: [ID!]!, $w: DateRange!) {
  assets(ids: $ids) { id appeal(window: $w) { verdict } } }"""


@pytest.mark.asyncio(loop_scope="module")
async def test_appeal_of_a_page_of_assets_takes_one_backend_query(
    client: httpx.AsyncClient, summary: GenerateSummary
) -> None:
    catalog = await _catalog(client)
    ids = list(catalog)[:25]  # assets of several titles
    window = {
        "start": summary.start.isoformat(),
        "end": (summary.start + timedelta(days=9)).isoformat(),
    }
    executor = _executor(client)
    before = executor.backend_queries
    found = await data(client, PAGE, {"ids": ids, "w": window})
    assert [a["id"] for a in found["assets"]] == ids
    assert executor.backend_queries - before == 1


@pytest.mark.asyncio(loop_scope="module")
async def test_all_time_insights_never_reach_the_backend(client: httpx.AsyncClient) -> None:
    executor = _executor(client)
    before = executor.backend_queries
    for metric in ("TAKE_RATE", "AUTHENTICITY", "UNIQUE_IMPRESSIONS", "QUALIFIED_PLAYS"):
        await data(client, ALL_TIME, {"m": metric})
    assert executor.backend_queries == before
