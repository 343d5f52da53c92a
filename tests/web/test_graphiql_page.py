"""The GraphiQL page over HTTP: every script and style from the package (nothing from
another host), opened on the example query over the served data's days (`/` is the
dashboard: tests/web/test_dashboard_page.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from keyart.web.graphiql import ASSETS_DIR, ASSETS_PATH
from tests.e2e.harness import api, gql
from tests.truth import truth_of

ASSET_URL = re.compile(r'(?:src|href)="([^"]+)"')


async def test_page_loads_only_packaged_assets_and_opens_on_the_example(
    tiny_warehouse: Path, tiny_raw: Path
) -> None:
    truth = truth_of(tiny_raw)
    days = sorted({e.day for e in truth.impressions} | {e.day for e in truth.plays})
    async with api(tiny_warehouse) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        urls = [u for u in ASSET_URL.findall(page.text) if not u.startswith("data:")]
        assert len(urls) == 6
        for url in urls:
            assert url.startswith(ASSETS_PATH + "/"), url
            served = await client.get(url)
            assert served.status_code == 200, url
            assert served.content == (ASSETS_DIR / url.rsplit("/", 1)[1]).read_bytes()
        assert "unpkg" not in page.text and "https://" not in page.text

        raw = re.search(r'id="keyart-example">(.*?)</script>', page.text, re.S)
        assert raw is not None
        example = json.loads(raw.group(1))
        assert f'end: "{days[-1].isoformat()}"' in example
        assert f'start: "{days[0].isoformat()}"' in example
        # the query it opens on answers without errors or warnings
        answer = await gql(client, example)
        assert not answer.get("errors"), answer
        assert "warnings" not in (answer.get("extensions") or {})
        assert answer["data"]["dataRange"]["last"] == days[-1].isoformat()


async def test_vendored_assets_are_the_pinned_builds_with_their_licences() -> None:
    readme = (ASSETS_DIR / "README.md").read_text()
    for package, version in [
        ("graphiql", "3.8.3"),
        ("@graphiql/plugin-explorer", "1.0.2"),
        ("react", "18.2.0"),
    ]:
        assert f"| {package} | {version} |" in readme
    for licence in ["react", "react-dom", "graphiql", "plugin-explorer"]:
        assert "MIT License" in (ASSETS_DIR / f"LICENSE.{licence}").read_text()
