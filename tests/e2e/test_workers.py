"""End to end: `keyart serve --workers 2` over real TCP — both worker processes answer
against exact truth, map one shared copy of the snapshot, and keep serving the last good
snapshot when a newer announced one is broken."""

from __future__ import annotations

import re
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from keyart.store import files
from keyart.store.mapped import MAPPED_DIR, folder_name
from tests.e2e.server_process import ServerProcess
from tests.e2e.test_serve import END, PAGE, START, busiest, check_page
from tests.truth import truth_of

pytestmark = pytest.mark.slow

WORKERS = 2


def mapped_files(pid: int, folder: Path) -> set[str]:
    """The files under `folder` that process `pid` has memory-mapped."""
    prefix = str(folder)
    found = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith(prefix):
            found.add(parts[5])
    return found


def wait_for(check: Any, what: str, timeout_s: float = 120.0) -> Any:
    """Poll `check()` until it returns something truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def page_from_fresh_connection(url: str, variables: dict[str, Any]) -> dict[str, Any]:
    # a new connection each time: the kernel hands connections to either worker
    with httpx.Client(base_url=url, timeout=60) as client:
        response = client.post("/graphql", json={"query": PAGE, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def open_keep_alive(url: str, n: int) -> list[socket.socket]:
    """`n` connections opened at once, each kept open after one answered request."""
    host, port = url.removeprefix("http://").split(":")

    def one(_: int) -> socket.socket:
        conn = socket.create_connection((host, int(port)), timeout=60)
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: keyart\r\n\r\n")
        assert conn.recv(4096).startswith(b"HTTP/1.1 200"), "no answer"
        return conn

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def break_next_snapshot(snapshots: Path) -> str:
    """Announce a newer version whose blob passes its checksum but is not a snapshot."""
    served = files.read_announcement(snapshots)
    version = files.version_name(served.seq + 1, datetime.now(UTC))
    data = b"not a snapshot"
    files.write_durable(snapshots / files.blob_name(version), data)
    announcement = files.Announcement(
        version=version,
        file=files.blob_name(version),
        sha256=files.sha256_hex(data),
        size=len(data),
        created_at=datetime.now(UTC).isoformat(),
        warehouse_version=served.warehouse_version,
    )
    files.write_durable(snapshots / files.ANNOUNCE, announcement.to_json().encode())
    return version


def test_workers_share_the_snapshot_answer_truth_and_keep_the_last_good_one(
    tiny_warehouse: Path, tiny_raw: Path, tmp_path: Path
) -> None:
    truth = truth_of(tiny_raw)
    title = busiest(truth)
    snapshots = tmp_path / "snapshots"
    shutil.copytree(tiny_warehouse / "snapshots", snapshots)
    served = files.read_announcement(snapshots).version
    env = {
        "KEYART_SNAPSHOT_DIR": str(snapshots),
        "KEYART_SNAPSHOT_POLL_S": "0.2",
        "KEYART_CACHE_TTL_S": "0",  # every answer computed by the worker that got it
        "KEYART_ALERTS": "0",
        # the machine may be busy: requests wait for a slot instead of being shed
        "KEYART_QUEUE_TIMEOUT_S": "120",
    }
    args = ["serve", "--warehouse", str(tiny_warehouse), "--workers", str(WORKERS)]
    server = ServerProcess(args, tmp_path / "serve.log", env)
    try:
        server.wait_ready()
        map_dir = snapshots / MAPPED_DIR
        # every worker maps the same files: one copy in the page cache, not one per worker
        workers = wait_for(lambda: len(server.workers()) == WORKERS and server.workers(), "workers")
        maps = wait_for(
            lambda: (
                [m for pid in workers if (m := mapped_files(pid, map_dir))]
                if all(mapped_files(pid, map_dir) for pid in workers)
                else None
            ),
            "both workers to map the snapshot",
        )
        assert maps[0] == maps[1] and len(maps[0]) == 3, maps  # titles, assets, outliers
        announced = files.read_announcement(snapshots)
        folder = map_dir / folder_name(announced.version, announced.sha256)
        assert {Path(m).parent for m in maps[0]} == {folder}

        # keep-alive clients connecting at once are spread over both workers, not left to
        # whichever wakes first (which took 6, 7 or all 8 of them)
        assert server.wait_accepting(WORKERS) == sorted(workers)
        for _round in range(3):
            conns = open_keep_alive(server.url, 8)
            try:
                split = server.connections()
                assert sorted(split) == sorted(workers), split
                assert sum(split.values()) == 8 and min(split.values()) >= 3, split
            finally:
                for conn in conns:
                    conn.close()
            wait_for(lambda: sum(server.connections().values()) == 0, "connections to close")

        variables = {
            "id": title,
            "w": {"start": START.isoformat(), "end": END.isoformat()},
            "f": {"countries": ["US", "DE"]},
        }
        with ThreadPoolExecutor(8) as pool:
            bodies = list(
                pool.map(lambda _: page_from_fresh_connection(server.url, variables), range(16))
            )
        for body in bodies:
            assert body["data"]["dataVersion"] == served
            check_page(body, truth, title, ["US", "DE"])

        broken = break_next_snapshot(snapshots)
        failing = re.compile(rf"\[(\d+)\] WARNING .*snapshot poll failed, still serving {served}")
        wait_for(
            lambda: {int(pid) for pid in failing.findall(server.output())} >= set(workers),
            "every worker to reject the broken snapshot",
        )
        with ThreadPoolExecutor(8) as pool:
            bodies = list(
                pool.map(lambda _: page_from_fresh_connection(server.url, variables), range(16))
            )
        for body in bodies:
            assert body["data"]["dataVersion"] == served, broken
            check_page(body, truth, title, ["US", "DE"])
        assert sorted(server.workers()) == sorted(workers)  # nobody crashed
    finally:
        code = server.stop()
    assert code == 0, server.output()
