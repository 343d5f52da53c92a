"""The dashboard's Alerts view in a real headless Chromium with every other host blocked:
without a key and with a read key it asks for an admin key (FORBIDDEN) in words; with an admin
key (`keyart keys create --scope admin`) a rule created from a title page shows its secret
once, and the Alerts page lists the same rules as the server's `alertRules` answer (on screen
and in the CSV export). No console errors but the refused requests'."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from keyart.state.store import state_url
from tests.e2e.server_process import ServerProcess
from tests.web.browser import ARTIFACTS, CHROMIUM_ARGS, Watch, chromium_or_skip

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser

RULE_FIELDS = "id name kind titleIds metric threshold windowDays webhookUrl"


def create_key(store: str, scope: str) -> str:
    """A new API key of `scope` in the state store, made by the CLI a user runs."""
    created = subprocess.run(
        [sys.executable, "-m", "keyart.cli", "keys", "create", "--name", f"dash-{scope}",
         "--scope", scope, "--state-url", store],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return created.stdout.splitlines()[-1]


def graphql(server: ServerProcess, key: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        server.url + "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def rows(table: Locator) -> list[dict[str, str]]:
    """The rows of a table on screen, by column label (once it is there)."""
    table.wait_for()
    labels = table.locator("thead th").all_inner_texts()
    return [
        dict(zip(labels, row.locator("td").all_inner_texts(), strict=True))
        for row in table.locator("tbody tr").all()
    ]


def export(page: Page, testid: str, tmp_path: Path) -> tuple[Path, list[dict[str, str]]]:
    """Click a table's Export CSV button; the file and its rows."""
    with page.expect_download() as info:
        page.get_by_test_id(f"{testid}-csv").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    with target.open(newline="", encoding="utf-8") as handle:
        return target, list(csv.DictReader(handle))


def wait_for_alerts(server: ServerProcess, key: str, rule_id: str) -> list[dict[str, Any]]:
    """The rule's alerts once the server's worker has found some (60 s at most)."""
    query = (
        f'{{ alerts(ruleId: "{rule_id}", first: 500) {{ edges {{ node '
        "{ id assetId finding } } } }"
    )
    deadline = time.monotonic() + 60
    while True:
        found = [e["node"] for e in graphql(server, key, query)["alerts"]["edges"]]
        if found or time.monotonic() > deadline:
            assert found, server.output()
            return found
        time.sleep(0.5)


def test_create_a_rule_from_a_title_and_list_it(tiny_warehouse: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    chromium = chromium_or_skip()
    store = state_url(tmp_path / "state")
    admin, reader = create_key(store, "admin"), create_key(store, "read")
    hook = "http://127.0.0.1:9/keyart-hook"  # refuses connections: deliveries fail, in words
    server = ServerProcess(
        ["serve", "--warehouse", str(tiny_warehouse), "--state-url", store],
        tmp_path / "serve.log",
        env={"KEYART_WEBHOOK_ALLOW": "127.0.0.0/8"},
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()
    try:
        server.wait_ready()
        listed = graphql(server, reader, "{ titles(first: 5) { edges { node { id name } } } }")
        title = listed["titles"]["edges"][0]["node"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page(
                    viewport={"width": 1400, "height": 1000}, accept_downloads=True
                )
                watch.attach(page)

                # anonymous, then a read key: the view says an admin key is needed
                page.goto(server.url + "/alerts", wait_until="load")
                alert = page.get_by_role("alert")
                expect(alert).to_contain_text("needs an admin API key, and none is entered")
                page.get_by_label("API key").fill(reader)
                page.get_by_role("button", name="Use this key").click()
                expect(alert).to_contain_text("the key in use is not one")
                page.get_by_label("API key").fill(admin)
                page.get_by_role("button", name="Use this key").click()
                expect(page.get_by_role("status").first).to_contain_text("No alert rules yet")

                # from the title page: the form is prefilled with the title
                page.goto(server.url + f"/title/{title['id']}", wait_until="load")
                page.get_by_test_id("assets").wait_for()
                page.get_by_test_id("create-alert").click()
                expect(page).to_have_url(re.compile(rf".*/alerts/new\?title={title['id']}&name="))
                expect(page.get_by_label("Title IDs")).to_have_value(title["id"])
                page.get_by_label("Kind").select_option("THRESHOLD")
                page.get_by_label("Metric").select_option("TAKE_RATE")
                page.get_by_label("Threshold").fill("0")
                page.get_by_label("Window (days)").fill("366")
                page.get_by_label("Webhook URL (optional)").fill(hook)
                page.get_by_role("button", name="Create alert rule").click()
                created = page.get_by_test_id("rule-created")
                expect(created).to_be_visible()
                secret = page.get_by_test_id("rule-secret").inner_text()
                rule_id = page.get_by_test_id("rule-id").inner_text()
                assert len(secret) >= 32
                page.screenshot(path=str(ARTIFACTS / "dashboard-alert-created.png"))

                # the Alerts page lists what alertRules answers (and never the secret again)
                page.get_by_role("link", name="See it on the Alerts page").click()
                expect(page).to_have_url(f"{server.url}/alerts?rule={rule_id}")
                table = page.get_by_test_id("alert-rules")
                table.wait_for()
                rules = graphql(server, admin, f"{{ alertRules {{ {RULE_FIELDS} secret }} }}")
                want = rules["alertRules"]
                assert [r["id"] for r in want] == [rule_id]
                assert want[0]["secret"] is None
                assert want[0]["titleIds"] == [title["id"]]
                assert (want[0]["kind"], want[0]["threshold"], want[0]["windowDays"]) == (
                    "THRESHOLD", 0.0, 366
                )  # fmt: skip
                shown = rows(table)
                assert [
                    (r["ID"], r["Rule"], r["Kind"], r["Titles"], r["Metric"]) for r in shown
                ] == [(w["id"], w["name"], w["kind"], title["id"], w["metric"]) for w in want]
                assert shown[0]["Threshold"] == "0" and shown[0]["Webhook"] == hook
                assert secret not in page.content()

                target, exported = export(page, "alert-rules", tmp_path)
                assert target.name == "alert_rules.csv"
                assert [
                    (
                        r["ID"],
                        r["Rule"],
                        r["Titles"],
                        float(r["Threshold"]),
                        int(r["Window (days)"]),
                    )
                    for r in exported
                ] == [
                    (w["id"], w["name"], title["id"], w["threshold"], w["windowDays"]) for w in want
                ]

                # the server's worker evaluates the new rule on the served version: take rate
                # >= 0 over all the data fires on every asset of the title with impressions
                alerts = wait_for_alerts(server, admin, rule_id)
                page.reload()
                shown_alerts = rows(page.get_by_test_id("alerts"))
                assert sorted((a["Asset ID"], a["Finding"]) for a in shown_alerts) == sorted(
                    (a["assetId"], a["finding"]) for a in alerts
                )
                assert {a["Title"] for a in shown_alerts} == {title["name"]}
                target, exported = export(page, "alerts", tmp_path)
                assert target.name == f"alerts_{rule_id}.csv"
                assert sorted(
                    (a["Asset ID"], a["Finding"], a["Rule ID"]) for a in exported
                ) == sorted((a["assetId"], a["finding"], rule_id) for a in alerts)
                assets = graphql(
                    server, reader, f'{{ title(id: "{title["id"]}") {{ assets {{ id }} }} }}'
                )
                assert {a["assetId"] for a in alerts} <= {
                    a["id"] for a in assets["title"]["assets"]
                }
                page.screenshot(path=str(ARTIFACTS / "dashboard-alerts.png"))

                # the asset page links to the same form, prefilled with the asset's title
                page.get_by_test_id("alerts").get_by_role("link").nth(1).click()
                page.get_by_test_id("asset-name").wait_for()
                page.get_by_test_id("create-alert").click()
                expect(page.get_by_label("Title IDs")).to_have_value(title["id"])
            finally:
                browser.close()
    finally:
        assert server.stop() == 0, server.output()
    assert watch.blocked == []
    assert watch.errors == [], watch.errors
