"""The dashboard over HTTP: `/` and every view's path answer with the packaged page, whose
scripts and styles come from the package alone; generated assets' artwork is served."""

from __future__ import annotations

import re
from pathlib import Path

from keyart.web import dashboard
from tests.e2e.harness import api, gql

# the bundle's own files: a module script and a stylesheet
ASSET_URL = re.compile(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"')


async def test_every_view_path_answers_with_the_packaged_page(tiny_warehouse: Path) -> None:
    page = dashboard.INDEX.read_text(encoding="utf-8")
    async with api(tiny_warehouse) as client:
        for path in [
            "/",
            "/title/t0000001",
            "/asset/a0000001",
            "/compare?ids=a,b",
            "/alerts",
            "/alerts/new?title=t0000001",
        ]:
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/html")
            assert response.text == page
        urls = [u for u in ASSET_URL.findall(page) if not u.startswith("data:")]
        assert len(urls) == 2  # one script, one stylesheet
        for url in urls:
            assert url.startswith(dashboard.ASSETS_PATH + "/"), url
            served = await client.get(url)
            assert served.status_code == 200, url
            assert served.content == (dashboard.BUNDLE_DIR / url.lstrip("/")).read_bytes()
        # other paths keep their GraphQL-shaped 404
        missing = await client.get("/titles/nope")
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_generated_assets_have_artwork_the_server_draws(tiny_warehouse: Path) -> None:
    async with api(tiny_warehouse) as client:
        query = "{ titles(first: 5) { edges { node { assets { id mediaUrl } } } } }"
        answer = await gql(client, query)
        assets = [a for e in answer["data"]["titles"]["edges"] for a in e["node"]["assets"]]
        with_media = [a for a in assets if a["mediaUrl"] is not None]
        assert with_media
        for asset in with_media:
            assert asset["mediaUrl"] == f"/media/{asset['id']}.svg"
            image = await client.get(asset["mediaUrl"])
            assert image.status_code == 200
            assert image.headers["content-type"].startswith("image/svg+xml")
            assert asset["id"] in image.text
        refused = await client.get("/media/%3Cscript%3E.svg")
        assert refused.status_code == 404
