"""Every field of the GraphQL contract over HTTP against the real tiny warehouse, with numbers
checked against exact truth computed from the raw events in tests/truth.py."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyart.warehouse.layout import Warehouse
from tests.e2e.checks import BoundsTally, assert_metrics
from tests.e2e.harness import METRICS_FIELDS, data
from tests.truth import Truth

pytestmark = pytest.mark.asyncio(loop_scope="module")

START, END = date(2026, 1, 23), date(2026, 2, 5)  # a Friday, crossing a month boundary
WINDOW = {"start": START.isoformat(), "end": END.isoformat()}
FRAGMENT = f"fragment M on Metrics {{ {METRICS_FIELDS} }}"


def title_assets(truth: Truth, title: str) -> list[str]:
    return [a.id for a in truth.assets.values() if a.title_id == title]


async def test_catalog_fields(
    client: httpx.AsyncClient, truth: Truth, tiny_warehouse: Path
) -> None:
    d = await data(client, "{ affinities dataVersion warehouseVersion }")
    assert d["affinities"] == truth.affinity_labels()
    state = client.app.state.keyart  # type: ignore[attr-defined]
    assert d["dataVersion"] == state.consumer.version
    assert d["warehouseVersion"] == Warehouse(tiny_warehouse).current().name


async def test_title_metadata_availability_and_options(
    client: httpx.AsyncClient, truth: Truth
) -> None:
    query = """query($id: ID!) { title(id: $id) {
        id name kind genres launchDate
        availability { countries countryCount }
        filterOptions { countries affinities }
        assets { id type name tags mediaUrl title { id } availability { countries countryCount } }
        videos: assets(type: VIDEO) { id }
        artwork: assets(type: ARTWORK) { id }
    } }"""
    for title_id, row in sorted(truth.titles.items()):
        t = (await data(client, query, {"id": title_id}))["title"]
        assert t["id"] == title_id
        assert t["name"] == row.name
        assert t["kind"] == row.kind.upper()
        assert t["genres"] == list(row.genres)
        assert t["launchDate"] == (None if row.launch_date is None else row.launch_date.isoformat())
        countries = truth.countries_of_title(title_id)
        assert t["availability"] == {"countries": countries, "countryCount": len(countries)}
        assert t["filterOptions"]["countries"] == countries
        labels = sorted({x for e in truth.impressions if e.title == title_id for x in e.affinities})
        assert t["filterOptions"]["affinities"] == labels
        expected = sorted(
            (a for a in truth.assets.values() if a.title_id == title_id),
            key=lambda a: (a.type, a.id),
        )
        assert [a["id"] for a in t["assets"]] == [a.id for a in expected]
        for got, want in zip(t["assets"], expected, strict=True):
            assert got["type"] == want.type.upper()
            assert got["name"] == want.name
            assert got["tags"] == list(want.tags)
            assert got["mediaUrl"] == want.media_url
            assert got["title"] == {"id": title_id}
            asset_countries = truth.countries_of_asset(want.id)
            assert got["availability"] == {
                "countries": asset_countries,
                "countryCount": len(asset_countries),
            }
        assert [a["id"] for a in t["videos"]] == [a.id for a in expected if a.type == "video"]
        assert [a["id"] for a in t["artwork"]] == [a.id for a in expected if a.type == "artwork"]


async def test_unknown_ids_answer_null(client: httpx.AsyncClient, truth: Truth) -> None:
    known = sorted(truth.assets)[:2]
    d = await data(
        client,
        """query($ids: [ID!]!) { title(id: "no-such-title") { id } asset(id: "no-such") { id }
           assets(ids: $ids) { id } }""",
        {"ids": [known[0], "no-such", known[1]]},
    )
    assert d["title"] is None
    assert d["asset"] is None
    assert d["assets"] == [{"id": known[0]}, None, {"id": known[1]}]


async def test_all_time_metrics_from_the_snapshot(client: httpx.AsyncClient, truth: Truth) -> None:
    days = truth.days()
    ids = sorted(truth.assets)
    d = await data(
        client,
        f"query($ids: [ID!]!) {{ assets(ids: $ids) {{ id allTime {{ ...M }} }} }} {FRAGMENT}",
        {"ids": ids},
    )
    tally = BoundsTally()
    for got in d["assets"]:
        exact = truth.metrics(days[0], days[-1], assets={got["id"]})
        assert_metrics(f"allTime {got['id']}", got["allTime"], exact, tally)
    tally.assert_ok()
    titles = sorted(truth.titles)
    tally = BoundsTally()
    for title_id in titles:
        got = (
            await data(
                client,
                f"query($id: ID!) {{ title(id: $id) {{ allTime {{ ...M }} }} }} {FRAGMENT}",
                {"id": title_id},
            )
        )["title"]["allTime"]
        assert_metrics(
            f"title allTime {title_id}",
            got,
            truth.metrics(days[0], days[-1], titles={title_id}),
            tally,
        )
    tally.assert_ok()


PAGE = f"""query Page($id: ID!, $w: DateRange!, $f: MetricFilter) {{
  title(id: $id) {{
    metrics(window: $w, filter: $f) {{ ...M }}
    assets {{ id metrics(window: $w, filter: $f) {{ ...M }} }}
  }}
}} {FRAGMENT}"""


def filters(truth: Truth) -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
    labels = truth.affinity_labels()
    countries = truth.busiest("country", 2)
    return [
        (None, {}),
        ({"countries": countries}, {"countries": countries}),
        ({"affinities": labels[:2]}, {"affinities": labels[:2]}),
        ({"assetTypes": ["VIDEO"]}, {"asset_types": ["video"]}),
        (
            {"countries": countries[:1], "affinities": labels[2:5], "assetTypes": ["ARTWORK"]},
            {"countries": countries[:1], "affinities": labels[2:5], "asset_types": ["artwork"]},
        ),
        ({"excludeCountries": countries[:1]}, {"exclude_countries": countries[:1]}),
        ({"affinitiesAll": labels[:2]}, {"affinities_all": labels[:2]}),
        ({"excludeAffinities": labels[:2]}, {"exclude_affinities": labels[:2]}),
        (
            {
                "countries": countries,
                "excludeCountries": countries[1:],
                "affinities": labels[:4],
                "affinitiesAll": labels[1:2],
                "excludeAffinities": labels[3:4],
            },
            {
                "countries": countries,
                "exclude_countries": countries[1:],
                "affinities": labels[:4],
                "affinities_all": labels[1:2],
                "exclude_affinities": labels[3:4],
            },
        ),
    ]


async def test_windowed_metrics_of_titles_and_assets(
    client: httpx.AsyncClient, truth: Truth
) -> None:
    tally = BoundsTally()
    for title_id in truth.busiest("title", 3):
        for api_filter, truth_filter in filters(truth):
            variables = {"id": title_id, "w": WINDOW, "f": api_filter}
            t = (await data(client, PAGE, variables))["title"]
            exact_title = truth.metrics(START, END, titles={title_id}, **truth_filter)
            assert_metrics(f"title {title_id} {api_filter}", t["metrics"], exact_title, tally)
            for a in t["assets"]:
                exact = truth.metrics(START, END, assets={a["id"]}, **truth_filter)
                assert_metrics(f"asset {a['id']} {api_filter}", a["metrics"], exact, tally)
    tally.assert_ok()


def expected_buckets(start: date, end: date, granularity: str) -> list[date]:
    out: list[date] = []
    day = start
    while day <= end:
        if granularity == "week":
            b = day - timedelta(days=day.weekday())
        elif granularity == "month":
            b = day.replace(day=1)
        else:
            b = day
        if b not in out:
            out.append(b)
        day += timedelta(days=1)
    return out


@pytest.mark.parametrize(
    ("granularity", "start", "end"),
    [
        ("DAY", START, END),
        ("WEEK", START, END),
        ("MONTH", START, END),
        ("DAY", date(2026, 2, 6), date(2026, 2, 20)),  # runs past the data: zero-filled
        ("WEEK", date(2026, 1, 1), date(2026, 3, 1)),
    ],
)
async def test_timeseries_every_bucket(
    client: httpx.AsyncClient, truth: Truth, granularity: str, start: date, end: date
) -> None:
    asset_id = title_assets(truth, truth.busiest("title", 1)[0])[0]
    d = await data(
        client,
        f"""query($id: ID!, $w: DateRange!, $g: Granularity!) {{ asset(id: $id) {{
            timeseries(window: $w, granularity: $g) {{ date metrics {{ ...M }} }} }} }}
            {FRAGMENT}""",
        {
            "id": asset_id,
            "w": {"start": start.isoformat(), "end": end.isoformat()},
            "g": granularity,
        },
    )
    points = d["asset"]["timeseries"]
    want = expected_buckets(start, end, granularity.lower())
    assert [p["date"] for p in points] == [b.isoformat() for b in want]
    exact = truth.series(start, end, granularity.lower(), assets={asset_id})
    tally = BoundsTally()
    for point in points:
        bucket = date.fromisoformat(point["date"])
        assert_metrics(
            f"{granularity} {bucket}", point["metrics"], exact.get(bucket) or _zero(), tally
        )
    tally.assert_ok()
    assert (
        sum(p["metrics"]["impressions"] for p in points)
        == truth.metrics(start, end, assets={asset_id}).impressions
    )


def _zero() -> Any:
    from tests.truth import Exact

    return Exact()


BREAKDOWN = f"""query($id: ID!, $w: DateRange!, $f: MetricFilter, $top: Int) {{ asset(id: $id) {{
  metrics(window: $w, filter: $f) {{ ...M }}
  byAffinity(window: $w, filter: $f, top: $top) {{ affinity lift metrics {{ ...M }} }}
  byCountry(window: $w, filter: $f, top: $top) {{ country metrics {{ ...M }} }}
}} }} {FRAGMENT}"""


async def test_breakdowns_by_affinity_and_country(client: httpx.AsyncClient, truth: Truth) -> None:
    tally = BoundsTally()
    labels = truth.affinity_labels()
    countries = truth.busiest("country", 3)
    for asset_id in title_assets(truth, truth.busiest("title", 1)[0])[:3]:
        for api_filter, truth_filter in [
            (None, {}),
            ({"affinities": labels[:3]}, {"affinities": labels[:3]}),
            ({"countries": countries}, {"countries": countries}),
            ({"affinitiesAll": labels[:1]}, {"affinities_all": labels[:1]}),
            (
                {"excludeAffinities": labels[1:2], "excludeCountries": countries[:1]},
                {"exclude_affinities": labels[1:2], "exclude_countries": countries[:1]},
            ),
        ]:
            variables = {"id": asset_id, "w": WINDOW, "f": api_filter, "top": None}
            a = (await data(client, BREAKDOWN, variables))["asset"]
            exact_aff = truth.by_affinity(START, END, assets={asset_id}, **truth_filter)
            exact_cty = truth.by_country(START, END, assets={asset_id}, **truth_filter)
            assert {g["affinity"] for g in a["byAffinity"]} == set(exact_aff)
            assert {g["country"] for g in a["byCountry"]} == set(exact_cty)
            if api_filter and "affinities" in api_filter:
                assert {g["affinity"] for g in a["byAffinity"]} <= set(api_filter["affinities"])
            for groups in (a["byAffinity"], a["byCountry"]):
                values = [g["metrics"]["uniqueImpressions"]["value"] for g in groups]
                assert values == sorted(values, reverse=True)
            overall = a["metrics"]["takeRate"]
            exact_overall = truth.metrics(START, END, assets={asset_id}, **truth_filter)
            for g in a["byAffinity"]:
                assert_metrics(
                    f"{asset_id} aff {g['affinity']}", g["metrics"], exact_aff[g["affinity"]], tally
                )
                rate = g["metrics"]["takeRate"]
                if rate is None or overall is None or overall["value"] == 0:
                    assert g["lift"] is None
                    continue
                assert math.isclose(g["lift"], rate["value"] / overall["value"], rel_tol=1e-9)
                exact_rate, exact_all = exact_aff[g["affinity"]].take_rate, exact_overall.take_rate
                assert exact_rate is not None and exact_all
                assert math.isclose(g["lift"], exact_rate / exact_all, rel_tol=0.1)
            for g in a["byCountry"]:
                assert_metrics(
                    f"{asset_id} cty {g['country']}", g["metrics"], exact_cty[g["country"]], tally
                )
            # top keeps the first N of the same order
            top = (await data(client, BREAKDOWN, {**variables, "top": 2}))["asset"]
            assert top["byAffinity"] == a["byAffinity"][:2]
            assert top["byCountry"] == a["byCountry"][:2]
            none = (await data(client, BREAKDOWN, {**variables, "top": 0}))["asset"]
            assert none["byAffinity"] == [] and none["byCountry"] == []
    tally.assert_ok()


async def test_titles_connection_pages_and_search(client: httpx.AsyncClient, truth: Truth) -> None:
    order = sorted(truth.titles.values(), key=lambda t: (t.name.casefold(), t.name, t.id))
    query = """query($first: Int, $after: String, $search: String) {
        titles(first: $first, after: $after, search: $search) {
            totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await data(client, query, {"first": 7, "after": after}))["titles"]
        assert page["totalCount"] == len(order)
        seen += [e["node"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["endCursor"] == (
            page["edges"][-1]["cursor"] if page["edges"] else None
        )
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [t.id for t in order]
    default = (await data(client, "{ titles { totalCount edges { node { id } } } }"))["titles"]
    assert [e["node"]["id"] for e in default["edges"]] == [t.id for t in order[:50]]
    needle = order[len(order) // 2].name.split()[0][:4].lower()
    matching = [t.id for t in order if needle.casefold() in t.name.casefold()]
    found = (await data(client, query, {"first": 100, "search": needle}))["titles"]
    assert found["totalCount"] == len(matching)
    assert [e["node"]["id"] for e in found["edges"]] == matching
    empty = (await data(client, query, {"first": 0}))["titles"]
    assert empty["edges"] == [] and empty["totalCount"] == len(order)
