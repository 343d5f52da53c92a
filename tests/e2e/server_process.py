"""A keyart CLI subprocess serving HTTP on a free localhost port, for end-to-end tests and
the HTTP benchmark (bench/http.py)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# servers under test open read access to callers without a key unless a test asks for keys
ANONYMOUS_ENV = {"KEYART_ALLOW_ANONYMOUS": "1"}


class ServerProcess:
    """`python -m keyart.cli <args> --port P` with its output captured in a log file;
    anonymous reads are allowed unless `anonymous=False` (then requests need a key)."""

    def __init__(
        self,
        args: list[str],
        log: Path,
        env: dict[str, str] | None = None,
        *,
        anonymous: bool = True,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "keyart.cli", *args, "--port", str(self.port)],
            env={**os.environ, **(ANONYMOUS_ENV if anonymous else {}), **(env or {})},
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        """Everything the process printed so far."""
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Block until /readyz answers 200; RuntimeError with the log when the process dies
        or is not ready in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready in {timeout_s}s:\n{self.output()}")

    def workers(self) -> list[int]:
        """Process ids of the server's worker processes (`--workers N`), from /proc;
        empty for a single-process server."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue  # ended meanwhile
            if b"multiprocessing.spawn" in cmdline:
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
        return sorted(children.get(self.process.pid, []))

    def wait_accepting(self, workers: int, timeout_s: float = 120.0) -> list[int]:
        """Block until each of `workers` worker processes has logged that it accepts
        connections (`--workers N`: /readyz may be answered while others still start);
        their pids."""
        accepting = re.compile(r"\[(\d+)\] INFO .*worker \d+ accepting connections \(slot")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pids = sorted({int(pid) for pid in accepting.findall(self.output())})
            if len(pids) >= workers:
                return pids
            time.sleep(0.1)
        raise RuntimeError(f"{workers} workers not accepting in {timeout_s}s:\n{self.output()}")

    def connections(self) -> dict[int, int]:
        """Established TCP connections to the server's port held by each serving process
        (each worker, or the single process), from /proc/net/tcp{,6} and each process's
        file descriptors."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == self.port and fields[3] == "01":  # ESTABLISHED
                    inodes.add(f"socket:[{fields[9]}]")
        out = {}
        for pid in self.workers() or [self.process.pid]:
            held = 0
            fd_dir = Path(f"/proc/{pid}/fd")
            try:
                fds = list(fd_dir.iterdir())
            except OSError:
                continue
            for fd in fds:
                try:
                    held += os.readlink(fd) in inodes
                except OSError:
                    continue  # closed meanwhile
            out[pid] = held
        return out

    def stop(self) -> int:
        """Interrupt the process (graceful shutdown) and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._out.close()
        return int(self.process.returncode)
