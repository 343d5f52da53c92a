"""The GraphiQL page served at /graphql to browsers: vendored assets only (no CDN), opened
on keyart's example query over the served data's days."""

from __future__ import annotations

import json
from pathlib import Path
from string import Template

# the vendored builds, reproduced by scripts/vendor_graphiql.sh
ASSETS_DIR = Path(__file__).with_name("graphiql")
ASSETS_PATH = "/static/graphiql"  # where the app mounts ASSETS_DIR
_PAGE = Path(__file__).with_name("graphiql.html")


def graphiql_page(example: str, assets_url: str = ASSETS_PATH) -> str:
    """The page's HTML, loading its scripts and styles from `assets_url`."""
    # JSON inside <script>: "<" escaped so the text can never close the element
    example_json = json.dumps(example).replace("<", "\\u003c")
    return Template(_PAGE.read_text(encoding="utf-8")).substitute(
        assets=assets_url, example_json=example_json
    )


__all__ = ["ASSETS_DIR", "ASSETS_PATH", "graphiql_page"]
