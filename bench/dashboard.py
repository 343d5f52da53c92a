"""Dashboard benchmark: first meaningful paint of a title page in headless Chromium over
loopback (navigation start → the title's asset grid and table with their numbers on screen,
the `keyart:view-ready` mark), each run in a fresh browser context (nothing cached), a
different title per run; and the bundle's size.

python -m bench.dashboard --profile bench --runs 30
"""

from __future__ import annotations

import argparse
import gzip
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bench import http
from bench.common import markdown_table, percentiles, write_results
from keyart.web.dashboard import BUNDLE_DIR

SUITE = "dashboard"
TARGET_MS = 1000.0  # issue 17: first meaningful paint of a title page ≤ 1 s (p50)
CHROMIUM = Path(os.environ.get("KEYART_CHROMIUM", "/usr/bin/chromium"))
READY = "() => performance.getEntriesByName('keyart:view-ready').length > 0"
TIMES = """() => ({
  ready: performance.getEntriesByName('keyart:view-ready')[0].startTime,
  fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime ?? null,
})"""


def bundle_sizes() -> list[dict[str, Any]]:
    """Every file of the bundle: bytes and gzip bytes."""
    rows = []
    for path in sorted(p for p in BUNDLE_DIR.rglob("*") if p.is_file()):
        content = path.read_bytes()
        rows.append(
            {
                "file": str(path.relative_to(BUNDLE_DIR)),
                "bytes": len(content),
                "gzip_bytes": len(gzip.compress(content, mtime=0)),
            }
        )
    return rows


def big_titles(url: str, count: int) -> list[dict[str, Any]]:
    """The titles with the most assets (the heaviest title pages)."""
    titles: list[dict[str, Any]] = []
    after = None
    while True:
        body = httpx.post(
            url + "/graphql",
            json={
                "query": "query($after: String) { titles(first: 200, after: $after) { "
                "pageInfo { hasNextPage endCursor } edges { node { id assets { id } } } } }",
                "variables": {"after": after},
            },
            timeout=120,
        ).json()
        page = body["data"]["titles"]
        titles += [
            {"id": e["node"]["id"], "assets": len(e["node"]["assets"])} for e in page["edges"]
        ]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    return sorted(titles, key=lambda t: (-t["assets"], t["id"]))[:count]


def measure(url: str, titles: list[dict[str, Any]], window: str) -> list[dict[str, Any]]:
    """One cold page load per title; milliseconds from navigation start."""
    from playwright.sync_api import sync_playwright

    from tests.web.browser import CHROMIUM_ARGS

    samples = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            for title in titles:
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                page = context.new_page()
                page.goto(f"{url}/title/{title['id']}?window={window}", wait_until="commit")
                page.wait_for_function(READY, timeout=60_000)
                times = page.evaluate(TIMES)
                samples.append({**title, **times})
                context.close()
        finally:
            browser.close()
    return samples


def render(payload: dict[str, Any]) -> str:
    """The results as Markdown."""
    rows = [
        {"window": cell["window"], **cell["ready_ms"], "fcp_p50": cell["fcp_ms"]["p50"]}
        for cell in payload["cells"]
    ]
    return (
        f"# Dashboard: title page first meaningful paint ({payload['profile']} profile)\n\n"
        f"{payload['measured_at']}; headless Chromium over loopback, a fresh context per run, "
        f"embedded backend, result cache off; load average before/after "
        f"{payload['load_average']['before'][0]:.1f}/{payload['load_average']['after'][0]:.1f} "
        "(shared machine). Target: p50 ≤ 1000 ms.\n\n"
        + markdown_table(
            rows,
            [
                ("window", "window"),
                ("runs", "runs"),
                ("p50", "ready p50 ms"),
                ("p95", "ready p95 ms"),
                ("max", "ready max ms"),
                ("fcp_p50", "first contentful paint p50 ms"),
            ],
        )
        + "\n## Bundle\n\n"
        + markdown_table(payload["bundle"], ["file", "bytes", ("gzip_bytes", "gzip bytes")])
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the dashboard benchmark and write bench/results/dashboard.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--profile", choices=["tiny", "demo", "bench"], default="bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=30, help="page loads per window (default 30)")
    parser.add_argument("--warehouse", type=Path, default=None, help="use this warehouse")
    args = parser.parse_args(list(argv) if argv is not None else None)

    warehouse = args.warehouse or http.ensure_warehouse(
        args.data / args.profile, args.profile, args.seed, 1.0
    )
    # published by this code base into a folder of its own: the warehouse stays untouched
    snapshots = http.ensure_snapshot(warehouse, args.data / f"{args.profile}-dashboard-snapshots")
    logs = args.data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    config = http.ServerConfig("embedded-uncached", "embedded", False)
    server = http.start_server(warehouse, snapshots, config, logs / "dashboard.log")
    load_before = os.getloadavg()
    cells = []
    try:
        server.wait_ready(timeout_s=1800)
        titles = big_titles(server.url, args.runs)
        for window in ("30d", "all"):
            samples = measure(server.url, titles, window)
            fcp = [s["fcp"] for s in samples if s["fcp"] is not None]
            cells.append(
                {
                    "window": window,
                    "ready_ms": percentiles([s["ready"] for s in samples]),
                    "fcp_ms": percentiles(fcp) if fcp else {"p50": None},
                    "samples": samples,
                }
            )
    finally:
        server.stop()
    payload = {
        "profile": args.profile,
        "warehouse": str(warehouse),
        "measured_at": date.today().isoformat(),
        "target_ms": TARGET_MS,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "cells": cells,
        "bundle": bundle_sizes(),
    }
    write_results(SUITE, payload, render(payload))
    print(render(payload))
    return 0


__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
