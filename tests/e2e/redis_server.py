"""A real redis-server on a free localhost port in a temporary folder, for cache tests.

Installs redis-server with apt-get when it is not on PATH; `RedisUnavailable` when that is
impossible (tests skip, or fail when KEYART_REQUIRE_REDIS=1).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.server_process import free_port


class RedisUnavailable(RuntimeError):
    """redis-server is not installed and could not be installed."""


def redis_binary() -> str:
    """Path of redis-server, installing it with apt-get if needed."""
    found = shutil.which("redis-server")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise RedisUnavailable("redis-server is not on PATH and apt-get is not available")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "redis-server"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        if done.returncode != 0:
            raise RedisUnavailable(f"{' '.join(cmd)} failed: {done.stderr[-500:]}")
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if not found:
        raise RedisUnavailable("redis-server still missing after apt-get install")
    return found


class RedisServer:
    """One redis-server process (no persistence) listening on 127.0.0.1:port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The redis:// URL of this server, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start the server and wait until it accepts connections."""
        binary = redis_binary()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.folder),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisUnavailable(f"redis-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RedisUnavailable("redis-server did not answer PING within 15 s")

    def stop(self) -> None:
        """Stop the server (only the process this object started)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


def start_or_skip(folder: Path) -> RedisServer:
    """A started RedisServer; skips the test when redis cannot be had, unless
    KEYART_REQUIRE_REDIS=1 makes that a failure."""
    try:
        return RedisServer(folder).start()
    except (RedisUnavailable, OSError, subprocess.SubprocessError) as exc:
        if os.environ.get("KEYART_REQUIRE_REDIS") == "1":
            pytest.fail(f"KEYART_REQUIRE_REDIS=1 but redis is unavailable: {exc}")
        pytest.skip(f"redis unavailable: {exc}")
