"""Catalog-wide rankings (`topAssets`), filtered title lists and their argument checks, over
HTTP against the real tiny warehouse, checked against exact truth from the raw events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from tests.e2e.checks import BoundsTally, assert_metrics
from tests.e2e.harness import METRICS_FIELDS, data
from tests.resolvers.test_errors import expect
from tests.truth import Exact, Truth

pytestmark = pytest.mark.asyncio(loop_scope="module")

START, END = date(2026, 1, 23), date(2026, 2, 5)
WINDOW = {"start": START.isoformat(), "end": END.isoformat()}
TOP = f"""query($w: DateRange!, $m: InsightMetric! = TAKE_RATE, $f: MetricFilter,
    $k: [TitleKind!], $g: [String!], $min: Int, $first: Int) {{
  topAssets(window: $w, metric: $m, filter: $f, titleKinds: $k, genres: $g,
            minImpressions: $min, first: $first) {{
    value asset {{ id title {{ id }} }} metrics {{ {METRICS_FIELDS} }} }} }}"""
# the API value a ranking reports, from the answer's own metrics
METRIC_OF: dict[str, Callable[[dict[str, Any]], Any]] = {
    "TAKE_RATE": lambda m: None if m["takeRate"] is None else m["takeRate"]["value"],
    "AUTHENTICITY": lambda m: m["authenticity"],
    "UNIQUE_IMPRESSIONS": lambda m: m["uniqueImpressions"]["value"],
    "QUALIFIED_PLAYS": lambda m: float(m["qualifiedPlays"]),
}


def exact_defined(metric: str, exact: Exact) -> bool:
    """Whether the metric has a value for an asset (rates need their denominator)."""
    if metric == "TAKE_RATE":
        return exact.take_rate is not None
    if metric == "AUTHENTICITY":
        return exact.authenticity is not None
    return True


def api_to_truth(flt: dict[str, Any] | None) -> dict[str, Any]:
    names = {
        "countries": "countries",
        "affinities": "affinities",
        "excludeCountries": "exclude_countries",
        "affinitiesAll": "affinities_all",
        "excludeAffinities": "exclude_affinities",
    }
    return {names[k]: v for k, v in (flt or {}).items()}


def rank_filters(truth: Truth) -> list[dict[str, Any] | None]:
    labels = truth.affinity_labels()
    countries = truth.busiest("country", 3)
    return [
        None,
        {"countries": countries[:1], "affinities": labels[:1]},
        {"excludeCountries": countries[:1], "excludeAffinities": labels[1:3]},
        {"affinitiesAll": labels[:2], "countries": countries},
    ]


@pytest.mark.parametrize("metric", sorted(METRIC_OF))
async def test_top_assets_rank_every_qualifying_asset(
    client: httpx.AsyncClient, truth: Truth, metric: str
) -> None:
    tally = BoundsTally()
    ranked_any = 0
    for flt in rank_filters(truth):
        minimum = 20 if flt is None else 3
        variables = {"w": WINDOW, "m": metric, "f": flt, "min": minimum, "first": 200}
        ranked = (await data(client, TOP, variables))["topAssets"]
        exact = truth.by_asset(START, END, **api_to_truth(flt))
        expected = {
            a for a, e in exact.items() if e.impressions >= minimum and exact_defined(metric, e)
        }
        ranked_any += len(expected)
        assert {r["asset"]["id"] for r in ranked} == expected, (metric, flt)
        values = [r["value"] for r in ranked]
        assert values == sorted(values, reverse=True)
        for r in ranked:
            asset = r["asset"]["id"]
            assert r["asset"]["title"]["id"] == truth.assets[asset].title_id
            assert r["value"] == METRIC_OF[metric](r["metrics"])
            assert_metrics(f"top {metric} {flt} {asset}", r["metrics"], exact[asset], tally)
        if metric == "QUALIFIED_PLAYS":  # an exact metric: the whole order is exact
            order = sorted(
                expected, key=lambda a: (-exact[a].qualified_plays, -exact[a].impressions, a)
            )
            assert [r["asset"]["id"] for r in ranked] == order
    assert ranked_any >= 10, "the cases must rank something"
    tally.assert_ok()


async def test_top_assets_first_min_impressions_and_title_criteria(
    client: httpx.AsyncClient, truth: Truth
) -> None:
    everything = (await data(client, TOP, {"w": WINDOW, "min": 0, "first": 200}))["topAssets"]
    ids = [r["asset"]["id"] for r in everything]
    first3 = (await data(client, TOP, {"w": WINDOW, "min": 0, "first": 3}))["topAssets"]
    assert [r["asset"]["id"] for r in first3] == ids[:3]
    # the defaults: minImpressions 1000, first 20
    exact = truth.by_asset(START, END)
    default = (await data(client, TOP, {"w": WINDOW}))["topAssets"]
    assert {r["asset"]["id"] for r in default} <= {
        a for a, e in exact.items() if e.impressions >= 1000
    }
    assert len(default) <= 20
    film_ids = {t.id for t in truth.titles.values() if t.kind in ("film", "live")}
    films = await data(client, TOP, {"w": WINDOW, "min": 0, "first": 200, "k": ["FILM", "LIVE"]})
    assert [r["asset"]["id"] for r in films["topAssets"]] == [
        a for a in ids if truth.assets[a].title_id in film_ids
    ]
    genre = truth.titles[truth.busiest("title", 1)[0]].genres[0]
    genre_titles = {t.id for t in truth.titles.values() if genre in t.genres}
    by_genre = await data(client, TOP, {"w": WINDOW, "min": 0, "first": 200, "g": [genre]})
    got = [r["asset"]["id"] for r in by_genre["topAssets"]]
    assert got and got == [a for a in ids if truth.assets[a].title_id in genre_titles]
    nothing = {"w": WINDOW, "min": 0, "g": ["no such genre"]}
    assert (await data(client, TOP, nothing))["topAssets"] == []


async def test_top_assets_is_one_backend_query(client: httpx.AsyncClient, truth: Truth) -> None:
    executor = client.app.state.keyart.executor  # type: ignore[attr-defined]
    before = executor.backend_queries
    flt = {"excludeAffinities": truth.affinity_labels()[-1:]}
    await data(client, TOP, {"w": WINDOW, "f": flt, "min": 1, "first": 50})
    assert executor.backend_queries == before + 1
    await data(client, TOP, {"w": WINDOW, "f": flt, "min": 1, "first": 50})
    assert executor.backend_queries == before + 1  # the second answer came from the cache


TITLES = """query($first: Int, $after: String, $k: [TitleKind!], $g: [String!],
    $a: Date, $b: Date, $o: TitleOrder) {
  titles(first: $first, after: $after, kinds: $k, genres: $g, launchedAfter: $a,
         launchedBefore: $b, orderBy: $o) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id launchDate } } } }"""


async def all_pages(client: httpx.AsyncClient, variables: dict[str, Any]) -> tuple[list[str], int]:
    seen: list[str] = []
    after = None
    while True:
        page = (await data(client, TITLES, {**variables, "first": 3, "after": after}))["titles"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen, page["totalCount"]
        after = page["pageInfo"]["endCursor"]


async def test_titles_filtered_and_ordered_by_launch(
    client: httpx.AsyncClient, truth: Truth
) -> None:
    by_name = sorted(truth.titles.values(), key=lambda t: (t.name.casefold(), t.name, t.id))
    launches = sorted({t.launch_date for t in truth.titles.values() if t.launch_date})
    low, high = launches[len(launches) // 4], launches[3 * len(launches) // 4]
    genre = by_name[0].genres[0]
    cases: list[tuple[dict[str, Any], Callable[[Any], bool]]] = [
        ({"k": ["SERIES"]}, lambda t: t.kind == "series"),
        ({"k": ["FILM", "GAME"]}, lambda t: t.kind in ("film", "game")),
        ({"g": [genre, "no such genre"]}, lambda t: genre in t.genres),
        ({"a": low.isoformat()}, lambda t: t.launch_date is not None and t.launch_date >= low),
        ({"b": high.isoformat()}, lambda t: t.launch_date is not None and t.launch_date <= high),
        (
            {"a": low.isoformat(), "b": high.isoformat(), "k": ["SERIES", "FILM"]},
            lambda t: t.kind in ("series", "film") and low <= t.launch_date <= high,
        ),
        ({"a": "2100-01-01"}, lambda t: False),
    ]
    for variables, keep in cases:
        expected = [t.id for t in by_name if keep(t)]
        assert await all_pages(client, variables) == (expected, len(expected)), variables
        newest = sorted(
            (t for t in by_name if keep(t)),
            key=lambda t: (t.launch_date is None, -(t.launch_date or date.min).toordinal()),
        )  # stable: ties keep the name order
        got = await all_pages(client, {**variables, "o": "LAUNCH_DATE_DESC"})
        assert got == ([t.id for t in newest], len(expected)), variables


async def test_a_cursor_belongs_to_its_order(client: httpx.AsyncClient) -> None:
    page = (await data(client, TITLES, {"first": 2}))["titles"]
    cursor = page["pageInfo"]["endCursor"]
    await expect(
        client,
        TITLES,
        {"first": 2, "after": cursor, "o": "LAUNCH_DATE_DESC"},
        "BAD_USER_INPUT",
        "not a titles cursor of this orderBy",
    )


METRICS = """query($id: ID!, $w: DateRange!, $f: MetricFilter) {
  asset(id: $id) { metrics(window: $w, filter: $f) { impressions } } }"""


@pytest.mark.parametrize(
    ("flt", "words"),
    [
        ({"countries": []}, "filter.countries is an empty list"),
        ({"affinities": []}, "filter.affinities is an empty list"),
        ({"assetTypes": []}, "filter.assetTypes is an empty list"),
        ({"excludeCountries": []}, "filter.excludeCountries is an empty list"),
        ({"affinitiesAll": []}, "filter.affinitiesAll is an empty list"),
        ({"excludeAffinities": []}, "filter.excludeAffinities is an empty list"),
        ({"excludeCountries": ["usa"]}, "filter.excludeCountries: 'usa' is not an ISO 3166-1"),
        ({"countries": ["U1"]}, "filter.countries: 'U1' is not an ISO 3166-1"),
    ],
)
async def test_bad_filter_fields_are_named(
    client: httpx.AsyncClient, truth: Truth, flt: dict[str, Any], words: str
) -> None:
    variables = {"id": sorted(truth.assets)[0], "w": WINDOW, "f": flt}
    await expect(client, METRICS, variables, "BAD_USER_INPUT", words)
    await expect(client, TOP, {"w": WINDOW, "f": flt}, "BAD_USER_INPUT", words)


@pytest.mark.parametrize(
    ("query", "variables", "words"),
    [
        (TOP, {"w": WINDOW, "first": 201}, "first must be within 0..200, got 201"),
        (TOP, {"w": WINDOW, "first": -1}, "first must be within 0..200"),
        (TOP, {"w": WINDOW, "min": -1}, "minImpressions must be >= 0, got -1"),
        (TOP, {"w": WINDOW, "k": []}, "titleKinds is an empty list"),
        (TOP, {"w": WINDOW, "g": []}, "genres is an empty list"),
        (TOP, {"w": {"start": "2026-02-05", "end": "2026-01-01"}}, "before its start"),
        (TITLES, {"k": []}, "kinds is an empty list"),
        (TITLES, {"g": []}, "genres is an empty list"),
        (TITLES, {"a": "2026-02-01", "b": "2026-01-01"}, "launchedAfter 2026-02-01 is later"),
    ],
)
async def test_bad_ranking_and_title_arguments(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], words: str
) -> None:
    await expect(client, query, variables, "BAD_USER_INPUT", words)
