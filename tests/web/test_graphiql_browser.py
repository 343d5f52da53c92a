"""GraphiQL in a real headless Chromium (Debian's, driven by Playwright) with every request
to another host than 127.0.0.1 blocked: the page loads, ▶ runs the example query, and the
result pane shows its data. Skips without /usr/bin/chromium unless KEYART_REQUIRE_BROWSER=1."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.server_process import ServerProcess
from tests.truth import truth_of
from tests.web.browser import ARTIFACTS, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


def test_graphiql_runs_the_example_offline(
    chromium: Path, server: ServerProcess, tiny_raw: Path
) -> None:
    from playwright.sync_api import Route, sync_playwright

    truth = truth_of(tiny_raw)
    days = sorted({e.day for e in truth.impressions} | {e.day for e in truth.plays})
    blocked: list[str] = []
    served: list[str] = []

    def only_localhost(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith("data:"):
            served.append(url)
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route("**/*", only_localhost)
            page.goto(server.url + "/graphql", wait_until="load")
            button = page.locator("button.graphiql-execute-button")
            button.wait_for(state="visible", timeout=30_000)
            button.click()
            pane = page.locator(".graphiql-response .CodeMirror")
            page.wait_for_function(
                "() => (document.querySelector('.graphiql-response .CodeMirror')"
                "?.CodeMirror.getValue() || '').includes('dataRange')",
                timeout=30_000,
            )
            shown = pane.inner_text()
            result = json.loads(pane.evaluate("el => el.CodeMirror.getValue()"))
            # the Explorer plugin is there and opens
            page.get_by_label("Show GraphiQL Explorer").click()
            explorer = page.locator(".graphiql-explorer-root").first
            explorer.wait_for(state="visible", timeout=10_000)
            explored = explorer.inner_text()
            page.screenshot(path=str(ARTIFACTS / "graphiql.png"))
        finally:
            browser.close()

    assert blocked == [], f"the page asked for other hosts: {blocked}"
    assert errors == []
    assert any("/static/graphiql/graphiql.min.js" in url for url in served)
    assert '"data"' in shown  # the pane itself shows the answer
    assert "titles" in explored and "dataRange" in explored  # the Explorer knows the schema
    assert "errors" not in result, result
    assert result["data"]["dataRange"] == {
        "first": days[0].isoformat(),
        "last": days[-1].isoformat(),
        "days": len(days),
    }
    [edge] = result["data"]["titles"]["edges"]
    assets = edge["node"]["assets"]
    title = edge["node"]["id"]
    assert {a["id"] for a in assets} == {a.id for a in truth.assets.values() if a.title_id == title}
    for asset in assets:
        exact = truth.metrics(days[0], days[-1], assets=[asset["id"]]).impressions
        assert asset["allTime"]["impressions"] == exact
