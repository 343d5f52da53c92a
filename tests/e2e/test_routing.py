"""Feature-flag routing in a running `keyart serve` process: `keyart flags set` sends
artwork to the legacy stack within seconds, without a restart, and `keyart flags rollback`
sends it back; answers and /metrics say which backend served them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from keyart.state.store import state_url
from tests.e2e.server_process import ServerProcess

QUERY = """query($id: ID!) {
  asset(id: $id) { metrics(window: {start: "2026-01-21", end: "2026-02-10"}) { impressions } }
}"""


def flags(*args: str, state: str, stdin: str | None = None) -> str:
    """Run `keyart flags …` against the store at `state`; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "keyart.cli", "flags", *args, "--state-url", state],
        capture_output=True, text=True, timeout=120, check=True, input=stdin,
    )  # fmt: skip
    return done.stdout


def served_by(url: str, asset: str) -> tuple[list[str], int]:
    body = httpx.post(url, json={"query": QUERY, "variables": {"id": asset}}, timeout=60).json()
    assert not body.get("errors"), body
    return body["extensions"]["backends"], body["data"]["asset"]["metrics"]["impressions"]


def wait_for(url: str, asset: str, backend: str, timeout_s: float = 15.0) -> float:
    """Seconds until `asset` is answered by `backend`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if served_by(url, asset)[0] == [backend]:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{asset} not answered by {backend} within {timeout_s}s")


def test_flags_route_a_running_server_and_roll_back(tiny_warehouse: Path, tmp_path: Path) -> None:
    from keyart.store.consumer import SnapshotConsumer

    snapshot = SnapshotConsumer(tiny_warehouse / "snapshots").load()
    kinds: dict[str, str] = {}
    for a in snapshot.assets.values():
        kinds.setdefault(a.type, a.id)
    artwork, video = kinds["artwork"], kinds["video"]
    state = state_url(tmp_path / "state")
    server = ServerProcess(
        ["serve", "--warehouse", str(tiny_warehouse), "--state-url", state],
        tmp_path / "serve.log",
        {"KEYART_ROUTING_POLL_S": "0.5"},
    )
    try:
        server.wait_ready()
        url = server.url + "/graphql"
        before_art, before_video = served_by(url, artwork), served_by(url, video)
        assert before_art[0] == before_video[0] == ["embedded"]
        rules = {"rules": [{"backend": "legacy", "asset_types": ["artwork"]}]}
        out = flags("set", "-", "--by", "release-bot", state=state, stdin=json.dumps(rules))
        assert "asset_types=['artwork'] -> legacy" in out
        assert wait_for(url, artwork, "legacy") < 10
        # exact counts are equal on both stacks; video stays where it was
        assert served_by(url, artwork) == (["legacy"], before_art[1])
        assert served_by(url, video) == before_video
        flags("rollback", "--by", "oncall", state=state)
        assert wait_for(url, artwork, "embedded") < 10
        listing = flags("list", state=state)
        assert "rollback  oncall" in listing and "set       release-bot" in listing
        metrics = httpx.get(server.url + "/metrics", timeout=30).text
        assert 'keyart_backend_answers_total{backend="legacy"}' in metrics
    finally:
        assert server.stop() == 0, server.output()
    assert "routing rule set 2 in force (rollback by oncall)" in server.output()
