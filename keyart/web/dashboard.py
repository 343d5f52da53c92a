"""The creative-insights dashboard's built bundle (sources in web/, rebuilt by `make web`) and
the paths the server answers with its page (the single-page app routes in the browser)."""

from __future__ import annotations

from pathlib import Path

BUNDLE_DIR = Path(__file__).with_name("dashboard")
INDEX = BUNDLE_DIR / "index.html"
ASSETS_PATH = "/ui"  # where the app mounts BUNDLE_DIR / "ui" (vite's assetsDir)
# the views' paths (web/src/main.ts): each answers with the same page
PAGE_PATHS = ("/", "/title/{title_id}", "/asset/{asset_id}", "/compare", "/alerts", "/alerts/new")


def available() -> bool:
    """Whether the package holds a built bundle (a source checkout without `make web` may not)."""
    return INDEX.is_file()


__all__ = ["ASSETS_PATH", "BUNDLE_DIR", "INDEX", "PAGE_PATHS", "available"]
