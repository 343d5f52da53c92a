"""Execution benchmark: the product schema's snapshot questions answered with the plain-field
plug-in (keyart/schema/execution.py) and with graphql-core's stock execution, requests
interleaved in one run over real HTTP semantics (httpx against the ASGI app, caches off).

    python -m bench.execution                     # demo profile
    python -m bench.execution --profile tiny --runs 100

The all-time question is DESIGN §7's "all-time metrics + availability for 50 assets"
(p50 ≤ 5 ms). Results: bench/results/execution.json and execution.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.common import markdown_table, percentiles, write_results
from keyart.config import ApiSettings
from keyart.schema import build_schema
from keyart.server import create_app

SUITE = "execution"
DEFAULT_DATA = Path("/tmp/keyart-bench-execution")
METRICS = """impressions qualifiedPlays playSeconds engagedPlays authenticity
  uniqueImpressions { value lower upper } uniquePlayers { value lower upper }
  takeRate { value lower upper }"""
QUESTIONS = {
    "alltime_50": (
        "all-time metrics + availability of 50 assets",
        f"""query($ids: [ID!]!) {{ assets(ids: $ids) {{
  id allTime {{ {METRICS} }} availability {{ countries countryCount }} }} }}""",
    ),
    "titles_50": (
        "a page of 50 titles with their assets' all-time metrics",
        f"""{{ titles(first: 50) {{ totalCount edges {{ cursor node {{ id name kind genres
  allTime {{ {METRICS} }} filterOptions {{ countries affinities }}
  assets {{ id name type allTime {{ {METRICS} }} }} }} }} }} }}""",
    ),
}


def ensure_warehouse(data: Path, profile: str, seed: int) -> Path:
    """The profile's warehouse under `data`, generated and ingested first if missing."""
    from keyart.demo import ensure_raw
    from keyart.demo import ensure_warehouse as ensure_wh

    return ensure_wh(data, ensure_raw(data, profile, seed))


async def _measure(warehouse: Path, runs: int) -> dict[str, dict[str, Any]]:
    """p50/p95/p99 ms per question and execution, requests of both interleaved."""
    settings = ApiSettings(warehouse=warehouse, allow_anonymous=True, cache_ttl_s=0)
    apps = {
        "plug-in": create_app(settings, schema=build_schema(settings, plain_fields=True)),
        "stock": create_app(settings, schema=build_schema(settings, plain_fields=False)),
    }
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for name, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
            )
        listing = "{ titles(first: 500) { edges { node { assets { id } } } } }"
        first = (await clients["stock"].post("/graphql", json={"query": listing})).json()
        ids = [a["id"] for e in first["data"]["titles"]["edges"] for a in e["node"]["assets"]]
        out: dict[str, dict[str, Any]] = {}
        for question, (_, text) in QUESTIONS.items():
            body = {"query": text, "variables": {"ids": ids[:50]}}
            samples: dict[str, list[float]] = {name: [] for name in clients}
            answers: dict[str, bytes] = {}
            for i in range(runs + 5):
                for name, client in clients.items():
                    started = time.perf_counter()
                    response = await client.post("/graphql", json=body)
                    elapsed = (time.perf_counter() - started) * 1000.0
                    answers[name] = response.content
                    if i >= 5:  # warm-up
                        samples[name].append(elapsed)
            if answers["plug-in"] != answers["stock"]:
                raise AssertionError(f"{question}: the two executions answer differently")
            out[question] = {name: percentiles(s) for name, s in samples.items()}
    return out


def render(results: dict[str, dict[str, Any]], profile: str) -> str:
    """The Markdown report."""
    rows = []
    for question, by_name in results.items():
        for name, stats in by_name.items():
            rows.append({"question": QUESTIONS[question][0], "execution": name, **stats})
    return (
        f"# Execution: plain-field plug-in vs stock graphql-core ({profile} profile)\n\n"
        "Same app, caches off, requests interleaved (ms over httpx → ASGI).\n\n"
        + markdown_table(
            rows,
            [
                "question",
                "execution",
                "runs",
                ("p50", "p50 ms"),
                ("p95", "p95 ms"),
                ("p99", "p99 ms"),
            ],
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; writes bench/results/execution.json and .md."""
    parser = argparse.ArgumentParser(prog="python -m bench.execution", description=__doc__)
    parser.add_argument("--profile", default="demo", help="data profile (default: demo)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default: 7)")
    parser.add_argument("--runs", type=int, default=300, help="timed runs each (default: 300)")
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"data folder (default: {DEFAULT_DATA})"
    )
    args, _ = parser.parse_known_args(argv)
    warehouse = ensure_warehouse(args.data / args.profile, args.profile, args.seed)
    results = asyncio.run(_measure(warehouse, args.runs))
    markdown = render(results, args.profile)
    write_results(SUITE, {"profile": args.profile, "results": results}, markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
