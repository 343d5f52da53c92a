"""End to end: `keyart serve` and `keyart demo` as uvicorn subprocesses over real TCP, the
numbers checked against exact truth, and the Redis cache shared across server processes."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.checks import BoundsTally, assert_metrics
from tests.e2e.harness import METRICS_FIELDS
from tests.e2e.redis_server import RedisServer
from tests.e2e.server_process import ServerProcess
from tests.truth import Truth, truth_of

pytestmark = pytest.mark.slow

START, END = date(2026, 1, 25), date(2026, 2, 8)
PAGE = f"""query TitlePage($id: ID!, $w: DateRange!, $f: MetricFilter) {{
  dataVersion
  title(id: $id) {{
    name
    metrics(window: $w, filter: $f) {{ {METRICS_FIELDS} }}
    assets {{
      id allTime {{ {METRICS_FIELDS} }} metrics(window: $w, filter: $f) {{ {METRICS_FIELDS} }}
    }}
  }}
}}"""


def post(url: str, query: str, variables: Mapping[str, object] | None = None) -> dict[str, Any]:
    response = httpx.post(
        url + "/graphql", json={"query": query, "variables": variables}, timeout=60
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def metric_value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def check_page(body: dict[str, Any], truth: Truth, title: str, countries: list[str]) -> None:
    assert not body.get("errors"), body["errors"]
    page = body["data"]["title"]
    tally = BoundsTally()
    assert_metrics(
        "title",
        page["metrics"],
        truth.metrics(START, END, titles={title}, countries=countries),
        tally,
    )
    days = truth.days()
    for a in page["assets"]:
        exact = truth.metrics(START, END, assets={a["id"]}, countries=countries)
        assert_metrics(f"asset {a['id']}", a["metrics"], exact, tally)
        assert_metrics(
            f"allTime {a['id']}",
            a["allTime"],
            truth.metrics(days[0], days[-1], assets={a["id"]}),
            tally,
        )
    tally.assert_ok()


def busiest(truth: Truth) -> str:
    counts: dict[str, int] = {}
    for e in truth.impressions:
        counts[e.title] = counts.get(e.title, 0) + 1
    return max(sorted(counts), key=lambda t: counts[t])


def test_keyart_serve_over_tcp(tiny_warehouse: Path, tiny_raw: Path, tmp_path: Path) -> None:
    truth = truth_of(tiny_raw)
    title = busiest(truth)
    server = ServerProcess(["serve", "--warehouse", str(tiny_warehouse)], tmp_path / "serve.log")
    try:
        server.wait_ready()
        variables = {
            "id": title,
            "w": {"start": START.isoformat(), "end": END.isoformat()},
            "f": {"countries": ["US", "DE"]},
        }
        check_page(post(server.url, PAGE, variables), truth, title, ["US", "DE"])
        bad = post(
            server.url, PAGE, {**variables, "w": {"start": "2026-02-08", "end": "2026-01-01"}}
        )
        assert [e["extensions"]["code"] for e in bad["errors"]] == ["BAD_USER_INPUT"] * len(
            bad["errors"]
        )
        text = httpx.get(server.url + "/metrics", timeout=10).text
        assert 'keyart_graphql_request_seconds_count{operation="TitlePage"} 2.0' in text
    finally:
        code = server.stop()
    assert code == 0, server.output()


@pytest.mark.redis
def test_redis_cache_is_shared_by_server_processes(
    tiny_warehouse: Path, tiny_raw: Path, tmp_path: Path, redis_server: RedisServer
) -> None:
    truth = truth_of(tiny_raw)
    title = busiest(truth)
    variables = {
        "id": title,
        "w": {"start": START.isoformat(), "end": END.isoformat()},
        "f": {"countries": ["US"]},
    }
    args = ["serve", "--warehouse", str(tiny_warehouse), "--cache-url", redis_server.url]
    first = ServerProcess(args, tmp_path / "first.log")
    try:
        first.wait_ready()
        check_page(post(first.url, PAGE, variables), truth, title, ["US"])
        text = httpx.get(first.url + "/metrics", timeout=10).text
        assert metric_value(text, "keyart_cache_misses_total") == 2.0  # title + assets shapes
    finally:
        assert first.stop() == 0, first.output()
    second = ServerProcess(args, tmp_path / "second.log")
    try:
        second.wait_ready()
        check_page(post(second.url, PAGE, variables), truth, title, ["US"])
        text = httpx.get(second.url + "/metrics", timeout=10).text
        assert metric_value(text, "keyart_cache_hits_total") == 2.0
        assert metric_value(text, "keyart_cache_misses_total") == 0.0
        assert 'keyart_backend_query_seconds_count{backend="embedded"}' not in text
    finally:
        assert second.stop() == 0, second.output()


def test_keyart_demo_with_the_tiny_profile(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    args = ["demo", "--data", str(data), "--warehouse", str(data / "wh"), "--profile", "tiny"]
    # no KEYART_ALLOW_ANONYMOUS: the demo opens anonymous reads itself, and says so
    demo = ServerProcess(args, tmp_path / "demo.log", anonymous=False)
    try:
        demo.wait_ready(timeout_s=300)
        out = demo.output()
        assert "generated profile tiny" in out and "planted outliers" in out  # generate report
        assert "quarantined" in out  # the ingest report
        assert f"{demo.url}/graphql" in out
        assert "anonymous read access is on" in out
        assert f"open the dashboard at {demo.url}/" in out
        example = out[out.index("query Example") :]
        example = example[: example.index("\n}\n") + 2]
        body = post(demo.url, example)
        assert not body.get("errors"), body
        assert "warnings" not in body.get("extensions", {})
        assets = body["data"]["titles"]["edges"][0]["node"]["assets"]
        assert any(a["metrics"]["impressions"] > 0 for a in assets)
    finally:
        assert demo.stop() == 0, demo.output()
    again = ServerProcess(args, tmp_path / "again.log")
    try:
        again.wait_ready(timeout_s=120)
        out = again.output()
        assert "already in" in out and "is current" in out
    finally:
        assert again.stop() == 0, again.output()


def test_keyart_demo_on_a_busy_port_fails_before_any_work(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "keyart.cli", "demo", "--data", str(tmp_path / "d"),
             "--warehouse", str(tmp_path / "wh"), "--port", str(port)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "open GraphiQL" not in done.stdout and "generating" not in done.stdout
    assert not (tmp_path / "d").exists()
