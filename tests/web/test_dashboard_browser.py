"""The dashboard in a real headless Chromium with every other host blocked: search → title page
→ asset page → compare → CSV export, the numbers on screen and in the CSV files checked
against the same server's GraphQL answers and against exact counts from the raw events;
no console errors. Screenshots of each view go to .data/artifacts/."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.server_process import ServerProcess
from tests.truth import truth_of
from tests.web.browser import ARTIFACTS, CHROMIUM_ARGS, Watch

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser

METRICS = "impressions uniqueImpressions { value } takeRate { value } authenticity"


def graphql(server: ServerProcess, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(
        server.url + "/graphql", json={"query": query, "variables": variables}, timeout=30
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def cells(table: Locator) -> list[dict[str, str]]:
    """The rows of a table on screen, by column label."""
    labels = table.locator("thead th").all_inner_texts()
    return [
        dict(zip(labels, row.locator("td").all_inner_texts(), strict=True))
        for row in table.locator("tbody tr").all()
    ]


def number(text: str) -> int:
    return int(text.replace(",", ""))


def export(page: Page, testid: str, tmp_path: Path) -> list[dict[str, str]]:
    """Click a table's Export CSV button; the downloaded file's rows."""
    with page.expect_download() as info:
        page.get_by_test_id(f"{testid}-csv").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    with target.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_search_title_asset_compare_and_csv(
    chromium: Path, server: ServerProcess, tiny_raw: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    truth = truth_of(tiny_raw)
    info = graphql(server, "{ dataVersion dataRange { first last days } }")
    first, last = info["dataRange"]["first"], info["dataRange"]["last"]
    everything = {"start": first, "end": last}
    # the title with the most assets; its name's middle letters are what the user types
    listed = graphql(server, "{ titles(first: 50) { edges { node { id name assets { id } } } } }")
    title = max((e["node"] for e in listed["titles"]["edges"]), key=lambda t: len(t["assets"]))
    assert len(title["assets"]) >= 2
    typed = title["name"][1:5]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            watch.attach(page)

            # search as you type; the first Tab reaches the skip link
            page.goto(server.url + "/", wait_until="load")
            # once the page has rendered, as a user would see it (a Tab pressed while the
            # app still builds the page lands wherever focus was left by the rendering)
            expect(page.get_by_test_id("data-version")).to_have_text(info["dataVersion"])
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent") == "Skip to content"
            expect(page.get_by_test_id("data-range")).to_contain_text(f"{first} → {last}")
            page.get_by_label("Search titles").press_sequentially(typed, delay=30)
            expect(page).to_have_url(f"{server.url}/?q={typed.replace(' ', '+')}")
            link = page.get_by_test_id("titles").get_by_role("link", name=title["name"])
            link.first.wait_for()
            page.screenshot(path=str(ARTIFACTS / "dashboard-search.png"))
            link.first.click()

            # title page, all time (a deep link keeps the window)
            expect(page.get_by_test_id("title-name")).to_have_text(title["name"])
            page.get_by_label("Window").select_option("all")
            expect(page).to_have_url(f"{server.url}/title/{title['id']}?window=all")
            before = len(watch.graphql())
            page.reload()
            expect(page.get_by_test_id("window-shown")).to_have_text(f"{first} → {last}")
            page.get_by_test_id("assets").wait_for()
            # no waterfall: the data range once per page load, then one request for the view
            assert len(watch.graphql()) - before == 2
            answer = graphql(
                server,
                f"query($id: ID!, $w: DateRange!) {{ title(id: $id) {{ assets {{ id "
                f"metrics(window: $w) {{ {METRICS} }} }} }} }}",
                id=title["id"],
                w=everything,
            )
            want = {a["id"]: a["metrics"] for a in answer["title"]["assets"]}
            shown = {row["ID"]: row for row in cells(page.get_by_test_id("assets"))}
            assert set(shown) == set(want)
            for asset_id, row in shown.items():
                exact = truth.metrics(
                    truth_day(first), truth_day(last), assets=[asset_id]
                ).impressions
                assert number(row["Impressions"]) == want[asset_id]["impressions"] == exact
                assert number(row["Unique impressions"]) == round(
                    want[asset_id]["uniqueImpressions"]["value"]
                )
            images = page.locator(".card img")
            assert images.count() >= 1
            assert all(
                img.evaluate("i => i.complete && i.naturalWidth > 0") for img in images.all()
            )
            page.screenshot(path=str(ARTIFACTS / "dashboard-title.png"), full_page=True)
            rows = export(page, "assets", tmp_path)
            assert {r["ID"]: int(r["Impressions"]) for r in rows} == {
                k: v["impressions"] for k, v in want.items()
            }

            # a country filter: every number is of that country's members only
            country = page.get_by_label("Country").locator("option").nth(1).get_attribute("value")
            assert country
            page.get_by_label("Country").select_option(country)
            expect(page).to_have_url(
                f"{server.url}/title/{title['id']}?window=all&countries={country}"
            )
            expect(page.get_by_label("Country")).to_have_value(country)
            expect(page.get_by_role("heading", name="Assets of")).to_contain_text(
                f"countries {country}"
            )
            filtered = {row["ID"]: row for row in cells(page.get_by_test_id("assets"))}
            for asset_id, row in filtered.items():
                exact = truth.metrics(
                    truth_day(first), truth_day(last), assets=[asset_id], countries=[country]
                ).impressions
                assert number(row["Impressions"]) == exact
            assert sum(number(r["Impressions"]) for r in filtered.values()) < sum(
                v["impressions"] for v in want.values()
            )
            page.go_back()
            expect(page.get_by_label("Country")).to_have_value("")
            expect(page.get_by_role("heading", name="Assets of")).not_to_contain_text(
                f"countries {country}"
            )
            page.get_by_test_id("assets").wait_for()

            # asset page: its time series adds up to the exact count
            busiest = max(want, key=lambda k: want[k]["impressions"])
            page.get_by_test_id(f"card-{busiest}").get_by_role("link").click()
            expect(page.get_by_test_id("asset-name")).to_be_visible()
            series = cells(page.get_by_test_id("timeseries"))
            assert sum(number(r["Impressions"]) for r in series) == want[busiest]["impressions"]
            page.locator(".chart canvas").first.wait_for()
            page.screenshot(path=str(ARTIFACTS / "dashboard-asset.png"), full_page=True)
            daily = export(page, "timeseries", tmp_path)
            assert [int(r["Impressions"]) for r in daily] == [
                number(r["Impressions"]) for r in series
            ]

            # back to the title, pick two assets, compare them
            page.go_back()
            picked = sorted(want, key=lambda k: -want[k]["impressions"])[:2]
            for asset_id in picked:
                page.get_by_test_id(f"pick-{asset_id}").check()
                expect(page.get_by_test_id(f"pick-{asset_id}")).to_be_checked()
            page.get_by_test_id("compare-link").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Compare 2 assets")
            compared = graphql(
                server,
                "query($ids: [ID!]!, $w: DateRange!) { compare(assets: $ids, window: $w) "
                "{ entries { asset { id } metrics { impressions } probabilityBetter "
                "significant takeRateLift { value } } } }",
                ids=picked,
                w=everything,
            )["compare"]["entries"]
            shown_compare = {r["ID"]: r for r in cells(page.get_by_test_id("compare"))}
            assert list(shown_compare) == picked
            for entry in compared:
                row = shown_compare[entry["asset"]["id"]]
                assert number(row["Impressions"]) == entry["metrics"]["impressions"]
                assert row["Probability better"] == f"{entry['probabilityBetter'] * 100:.1f}%"
                assert row["Significance"] == in_words(entry, baseline=picked[0])
            page.screenshot(path=str(ARTIFACTS / "dashboard-compare.png"), full_page=True)
            rows = export(page, "compare", tmp_path)
            for entry, row in zip(compared, rows, strict=True):
                assert row["ID"] == entry["asset"]["id"]
                assert float(row["Probability better"]) == pytest.approx(entry["probabilityBetter"])
        finally:
            browser.close()

    assert watch.blocked == [], f"the dashboard asked for other hosts: {watch.blocked}"
    assert watch.errors == []
    assert any("/ui/" in url for url in watch.served)


def in_words(entry: dict[str, Any], baseline: str) -> str:
    """What the compare view must say of an entry (web/src/compare.ts `verdict`)."""
    if entry["asset"]["id"] == baseline:
        return "Baseline"
    if entry["takeRateLift"] is None:
        return "Not enough data to compare"
    if not entry["significant"]:
        return "No significant difference"
    better = entry["takeRateLift"]["value"] > 1
    return f"Significantly {'better' if better else 'worse'} than the baseline"


def truth_day(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)
