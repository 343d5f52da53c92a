"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright
(never a downloaded browser), every request to another host than 127.0.0.1 blocked."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

CHROMIUM = Path(os.environ.get("KEYART_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("KEYART_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(".data/artifacts")  # kept after the run (git-ignored), for a look at the pages
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
]


def chromium_or_skip() -> Path:
    """The browser's path; skips when it is missing, fails instead with KEYART_REQUIRE_BROWSER=1."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found (apt-get install chromium)"
        if REQUIRED:
            pytest.fail(f"KEYART_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    return CHROMIUM


@dataclass
class Watch:
    """What a page did: requests served and blocked, script errors, console errors."""

    served: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def graphql(self) -> list[str]:
        """The requests made to the GraphQL endpoint so far."""
        return [url for url in self.served if urlsplit(url).path == "/graphql"]

    def attach(self, page: Page) -> None:
        """Block other hosts and record errors on `page`."""

        def only_localhost(route: Route) -> None:
            url = route.request.url
            if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
                self.served.append(url)
                route.continue_()
            else:
                self.blocked.append(url)
                route.abort()

        page.route("**/*", only_localhost)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
