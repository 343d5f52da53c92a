"""A real PostgreSQL server (Debian's `postgresql` package) in a temporary folder on a free
localhost port, for the state store tests.

initdb and postgres refuse to run as root, so as root they run as the `postgres` user
through runuser. `PostgresUnavailable` when the binaries are missing (tests skip, or fail
when KEYART_REQUIRE_POSTGRES=1; .ci/run installs the package and sets it).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.e2e.server_process import free_port

USER = "keyart"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed or the server did not start."""


def postgres_bindir() -> Path:
    """The folder holding initdb and pg_ctl (newest Debian version, else PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable("initdb not found (apt-get install postgresql)")


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.parent.name)
    except ValueError:
        return 0.0


class PostgresServer:
    """One PostgreSQL cluster (trust auth, no fsync) listening on 127.0.0.1:port."""

    def __init__(self) -> None:
        self.port = free_port()
        # not under pytest's tmp dir: that is private to root and the server runs as postgres
        self.folder = Path(tempfile.mkdtemp(prefix="keyart-pg-"))
        self.data = self.folder / "data"
        self.started = False
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root and no `postgres` user") from exc
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def url(self, database: str = "postgres") -> str:
        """The postgresql:// URL of `database` on this server."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *cmd: str, timeout: float = 120) -> None:
        done = subprocess.run(
            [*self._as, *cmd], capture_output=True, text=True, timeout=timeout, cwd=self.folder
        )
        if done.returncode != 0:
            raise PostgresUnavailable(f"{Path(cmd[0]).name} failed: {done.stderr[-800:]}")

    def start(self) -> PostgresServer:
        """initdb, then start the server and wait until it accepts connections."""
        bindir = postgres_bindir()
        self._run(
            str(bindir / "initdb"), "-D", str(self.data), "-U", USER, "-A", "trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        self.started = True
        self._bindir = bindir
        return self

    def create_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server this object started and delete its folder."""
        if self.started:
            try:
                self._run(str(self._bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
            finally:
                self.started = False
        shutil.rmtree(self.folder, ignore_errors=True)


def start_or_skip() -> PostgresServer:
    """A started PostgresServer; skips the test when PostgreSQL cannot be had, unless
    KEYART_REQUIRE_POSTGRES=1 makes that a failure."""
    try:
        server = PostgresServer()
        try:
            return server.start()
        except BaseException:
            server.stop()
            raise
    except (PostgresUnavailable, OSError, subprocess.SubprocessError) as exc:
        if os.environ.get("KEYART_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"KEYART_REQUIRE_POSTGRES=1 but PostgreSQL is unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
