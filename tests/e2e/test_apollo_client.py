"""Apollo Client's own PersistedQueryLink (Node, from npm) against `keyart serve` over TCP:
the first request sends only the hash, gets PersistedQueryNotFound, retries with the
query; the next sends only the hash and is answered. Skips without node/npm unless
KEYART_REQUIRE_NODE=1 (.ci/run installs them and sets it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from keyart.state import KeyStore, StateStore, state_url
from tests.e2e.server_process import ServerProcess

APOLLO = Path(__file__).with_name("apollo")


@pytest.fixture(scope="module")
def apollo_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the check script and @apollo/client installed from npm (the versions
    of package-lock.json)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    folder = tmp_path_factory.mktemp("apollo")
    problem = None
    if node is None or npm is None:
        problem = "node and npm are not installed"
    else:
        for name in ("package.json", "package-lock.json", "apq.mjs"):
            shutil.copy(APOLLO / name, folder / name)
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            problem = f"npm install failed: {done.stderr[-800:]}"
    if problem is not None:
        if os.environ.get("KEYART_REQUIRE_NODE") == "1":
            pytest.fail(f"KEYART_REQUIRE_NODE=1 but {problem}")
        pytest.skip(problem)
    return folder


@pytest.mark.parametrize("method", ["post", "get"])
def test_persisted_query_link_works_unchanged(
    apollo_client: Path, tiny_warehouse: Path, tmp_path: Path, method: str
) -> None:
    url = state_url(tmp_path / "state")
    store = StateStore.open(url)
    token = KeyStore(store).create("apollo", "read")[1]
    store.close()
    server = ServerProcess(
        ["serve", "--warehouse", str(tiny_warehouse), "--state-url", url],
        tmp_path / "serve.log",
        anonymous=False,
    )
    try:
        server.wait_ready()
        done = subprocess.run(
            ["node", "apq.mjs", server.url + "/graphql", token, method],
            cwd=apollo_client, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout.strip().splitlines()[-1])
        plain = httpx.post(
            server.url + "/graphql",
            json={"query": "{ titles(first: 3) { totalCount edges { node { id name } } } }"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()["data"]
    finally:
        assert server.stop() == 0, server.output()
    hashed = "GET" if method == "get" else "POST"
    flow = [
        (e["method"], e["sentQuery"], e["sentHash"], e["status"], e["errors"])
        for e in report["exchanges"]
    ]
    assert flow == [
        (hashed, False, True, 200, ["PersistedQueryNotFound"]),  # hash only: unknown
        ("POST", True, True, 200, []),  # retried with the query: registered, answered
        (hashed, False, True, 200, []),  # next time the hash alone is enough
    ]
    # Apollo adds __typename to every selection; the data is otherwise the plain answer
    assert [_strip(r) for r in report["results"]] == [plain, plain]


def _strip(value: object) -> object:
    """`value` without Apollo's __typename fields."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "__typename"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
