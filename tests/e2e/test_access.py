"""`keyart serve` requiring API keys over TCP, keys managed with `keyart keys`, with the
state store in SQLite and in a real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.server_process import ServerProcess

QUERY = "{ titles(first: 2) { totalCount } }"


def keys(*args: str, state: str) -> str:
    """Run `keyart keys …` against the store at `state`; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "keyart.cli", "keys", *args, "--state-url", state],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_serve_requires_keys_and_sees_revocations(
    tiny_warehouse: Path, tmp_path: Path, store_url: str
) -> None:
    token = keys("create", "--name", "e2e", "--scope", "read", state=store_url).splitlines()[-1]
    server = ServerProcess(
        ["serve", "--warehouse", str(tiny_warehouse), "--state-url", store_url],
        tmp_path / "serve.log",
        {"KEYART_KEY_CACHE_S": "0.5"},
        anonymous=False,
    )
    try:
        server.wait_ready()
        url = server.url + "/graphql"
        refused = httpx.post(url, json={"query": QUERY}, timeout=30)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        auth = {"Authorization": f"Bearer {token}"}
        ok = httpx.post(url, json={"query": QUERY}, headers=auth, timeout=30)
        assert ok.status_code == 200 and ok.json()["data"]["titles"]["totalCount"] > 0
        admin = httpx.post(url, json={"query": "{ apiKeys { name } }"}, headers=auth, timeout=30)
        assert admin.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        keys("revoke", "e2e", state=store_url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            gone = httpx.post(url, json={"query": QUERY}, headers=auth, timeout=30)
            if gone.status_code == 401:
                break
            time.sleep(0.2)
        assert gone.status_code == 401, "a revoked key was still accepted after 10 s"
    finally:
        assert server.stop() == 0, server.output()
    assert token not in server.output()
