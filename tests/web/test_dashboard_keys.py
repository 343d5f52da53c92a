"""The dashboard against a server that requires API keys, in headless Chromium: without a key
it says so and asks for one; a wrong key is refused in words; a valid key (kept in the tab's
sessionStorage) is sent as a Bearer token and the data shows. Skips without Chromium unless
KEYART_REQUIRE_BROWSER=1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from keyart.state.store import state_url
from tests.e2e.server_process import ServerProcess
from tests.web.browser import CHROMIUM_ARGS, Watch, chromium_or_skip

pytestmark = pytest.mark.browser


def test_key_entry_when_the_server_requires_keys(tiny_warehouse: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    chromium = chromium_or_skip()
    store = state_url(tmp_path / "state")
    created = subprocess.run(
        [sys.executable, "-m", "keyart.cli", "keys", "create", "--name", "dash", "--scope",
         "read", "--state-url", store],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    token = created.stdout.splitlines()[-1]
    server = ServerProcess(
        ["serve", "--warehouse", str(tiny_warehouse), "--state-url", store],
        tmp_path / "serve.log",
        anonymous=False,
    )
    watch = Watch()
    try:
        server.wait_ready()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page()
                watch.attach(page)
                page.goto(server.url + "/", wait_until="load")
                alert = page.get_by_role("alert")
                expect(alert).to_contain_text("needs an API key")
                page.get_by_label("API key").fill("not-a-key")
                page.get_by_role("button", name="Use this key").click()
                expect(alert).to_contain_text("The API key was refused")
                page.get_by_label("API key").fill(token)
                page.get_by_role("button", name="Use this key").click()
                expect(page.get_by_test_id("titles")).to_be_visible()
                assert page.evaluate("sessionStorage.getItem('keyart.apiKey')") == token
            finally:
                browser.close()
    finally:
        assert server.stop() == 0, server.output()
    assert watch.blocked == []
    # the browser logs each refused request (401) as a console error; nothing else may fail
    assert all("401" in e for e in watch.errors), watch.errors
