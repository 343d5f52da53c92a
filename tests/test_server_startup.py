"""`keyart serve` before data exists: it stops at once with a clear error, or with
--wait-for-data waits (up to its timeout) and starts serving when the first ingest
publishes; a busy port is reported before anything else."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from keyart.config import ApiSettings
from keyart.errors import ConfigError, SnapshotError
from keyart.server import await_data, check_port_free
from tests.e2e.server_process import ServerProcess, free_port


def keyart(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyart.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_serve_without_published_data_fails_fast(tmp_path: Path) -> None:
    started = time.monotonic()
    done = keyart("serve", "--warehouse", str(tmp_path / "empty"), "--port", str(free_port()))
    assert done.returncode == 2
    assert time.monotonic() - started < 30  # an interpreter start, not a wait
    assert f"warehouse {tmp_path / 'empty'} has no published data" in done.stderr
    assert "keyart ingest" in done.stderr and "--wait-for-data" in done.stderr
    assert "Uvicorn running" not in done.stderr + done.stdout


def test_wait_for_data_gives_up_after_its_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    done = keyart(
        "serve", "--warehouse", str(tmp_path), "--port", str(free_port()),
        "--wait-for-data", "--wait-timeout", "1.5",
    )  # fmt: skip
    assert done.returncode == 2
    assert time.monotonic() - started >= 1.5
    assert "after waiting 2s" in done.stderr or "after waiting 1s" in done.stderr


def test_wait_for_data_serves_once_an_ingest_publishes(
    tiny_warehouse: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh"
    server = ServerProcess(
        ["serve", "--warehouse", str(warehouse), "--wait-for-data"], tmp_path / "serve.log"
    )
    try:
        deadline = time.monotonic() + 60
        while "waiting for published data" not in server.output():
            assert server.process.poll() is None, server.output()
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/healthz", timeout=2)
        # the ingest's publication appears at once (a rename), as `keyart ingest` makes it
        shutil.copytree(tiny_warehouse, tmp_path / "staging")
        (tmp_path / "staging").rename(warehouse)
        server.wait_ready(timeout_s=60)
        answer = httpx.post(server.url + "/graphql", json={"query": "{ dataVersion }"})
        assert answer.json()["data"]["dataVersion"]
    finally:
        assert server.stop() == 0, server.output()


def test_await_data_polls_until_the_announcement(tiny_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    settings = ApiSettings(warehouse=warehouse, wait_for_data=True, wait_for_data_timeout_s=60)
    now = [0.0]
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds
        if len(naps) == 3:
            shutil.copytree(tiny_warehouse, warehouse)

    await_data(settings, sleep=sleep, clock=lambda: now[0])
    assert naps == [1.0, 1.0, 1.0]
    with pytest.raises(SnapshotError, match="after waiting 60s"):
        await_data(
            ApiSettings(
                warehouse=tmp_path / "never", wait_for_data=True, wait_for_data_timeout_s=60
            ),
            sleep=sleep,
            clock=lambda: now[0],
        )


def test_busy_port_is_named() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"cannot listen on 127.0.0.1:{port}: .*PORT="):
            check_port_free("127.0.0.1", port)
    check_port_free("127.0.0.1", port)  # free again
