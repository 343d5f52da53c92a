"""Uncached throughput over real HTTP: a baseline server against this code's.

    python -m bench.throughput                          # bench profile, A/B/C/A/B/C
    python -m bench.throughput --baseline c98df3f --workers 2 --rounds 2 --concurrency 8,32
    python -m bench.throughput --profile demo --requests 200

The title page and the affinity breakdown (bench/http.py's questions) with every cache off
(`KEYART_CACHE_TTL_S=0`, each request drawing one of a pool of distinct variable sets, and
no two requests in flight at once the same: the server would merge those into one
computation; see bench.loadgen.variable_set), so every request reaches the backend.
Configurations: the baseline, the server of git commit `--baseline` (default c98df3f, the
code before this work; its files exported by `git archive`, run with one worker and its
default settings, as installed then: without uvloop and httptools); this code with one
worker (`--one-worker`, default on); and this code with `--workers` workers (default: the
host's cores). They run one at a time, interleaved A/B/C/A/B/C (`--rounds`), because the
machine is shared and its load drifts; each cell records the load average it ran under.
The load generator (bench/loadgen.py: raw HTTP/1.1 keep-alive, pre-encoded requests) runs
on the same cores, and its own CPU per request is reported. For each server the resident
(RSS) and proportional (PSS: shared pages divided among the processes mapping them) memory
of the main process and of every worker, once ready and after the load.
Results: bench/results/throughput.json and throughput.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.common import markdown_table, write_results
from bench.http import (
    QUESTIONS,
    Cell,
    cell_of,
    ensure_snapshot,
    ensure_warehouse,
    pick_parameters,
    warm,
)
from bench.spark import export_tree
from tests.e2e.server_process import ServerProcess

SUITE = "throughput"
BASELINE = "c98df3f"  # main before the throughput work of issue 18 (item 3)
ASKED = ("title_page", "affinity_90d")
SPLIT_AFTER_S = 1.0  # into a cell, when the connections each process holds are counted


# imported first by the baseline's interpreter (sitecustomize on PYTHONPATH): the
# packages this code added for speed are unimportable there, as they were not installed
_WITHOUT_SPEEDUPS = """import sys
sys.modules.update({"uvloop": None, "httptools": None})
"""


@dataclass(frozen=True)
class Config:
    """One way to run the server: its name in the tables, how many workers (None: the
    code's default) and, for a baseline, the exported tree of an older commit."""

    name: str
    workers: int | None
    tree: str | None = None


def start(warehouse: Path, snapshots: Path, config: Config, log: Path) -> ServerProcess:
    """`keyart serve` with every cache off, answering from the serving copy."""
    env = {
        "KEYART_CACHE_TTL_S": "0",
        "KEYART_SNAPSHOT_DIR": str(snapshots),
        "KEYART_READY_REQUIRES_SERVING_COPY": "1",
        "KEYART_RATE_LIMIT": "off",
        "KEYART_ALERTS": "0",
    }
    if config.tree is not None:
        # the baseline's package first on sys.path, and not this checkout (the current
        # directory) ahead of it
        env |= {"PYTHONPATH": config.tree, "PYTHONSAFEPATH": "1"}
    args = ["serve", "--warehouse", str(warehouse)]
    if config.workers is not None:
        args += ["--workers", str(config.workers)]
    return ServerProcess(args, log, env)


def run_cell(
    url: str,
    server: str,
    question: str,
    variables: list[dict[str, Any]],
    concurrency: int,
    requests: int,
    budget_s: float,
) -> tuple[Cell, float]:
    """One cell by the cheap load generator; with its CPU seconds."""
    parts = loadgen.run(url, QUESTIONS[question][1], variables, concurrency, requests, budget_s)
    return cell_of(server, question, concurrency, parts), sum(p.cpu_s for p in parts)


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in KiB; PSS from smaps_rollup counts shared pages once overall."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pss = 0
    return rss, pss


def server_cpu_s(server: ServerProcess) -> float:
    """CPU seconds (user + system) used so far by the main process and its workers."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in [server.process.pid, *server.workers()]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / tick


def memory(server: ServerProcess) -> dict[str, Any]:
    """Memory of the main process and each worker, with totals (MiB)."""
    rows = []
    for p in [server.process.pid, *server.workers()]:
        try:
            rss, pss = _memory_kib(p)
        except OSError:
            continue
        rows.append({"pid": p, "rss_mb": round(rss / 1024, 1), "pss_mb": round(pss / 1024, 1)})
    return {
        "processes": rows,
        "total_rss_mb": round(sum(r["rss_mb"] for r in rows), 1),
        "total_pss_mb": round(sum(r["pss_mb"] for r in rows), 1),
    }


_SNAPSHOT_PROBE = """
import json, sys, tempfile
from pathlib import Path
from keyart.store import blob, files, mapped

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

folder = Path(sys.argv[1])
how = sys.argv[2]
ann = files.read_announcement(folder)
data = (folder / ann.file).read_bytes()
map_dir = Path(tempfile.mkdtemp())
if how == "mapped":  # written by another process first, as with workers
    mapped.load(map_dir, ann.version, ann.sha256, data, "blob")
before = rss()
if how == "mapped":
    snap = mapped.load(map_dir, ann.version, ann.sha256, data, "blob")
else:
    snap = blob.decode(data)
loaded = rss()
for name in ("titles", "assets", "asset_alltime", "title_alltime", "asset_countries",
             "title_countries", "title_filter_options", "title_outliers", "asset_appeal"):
    for key in getattr(snap, name):
        getattr(snap, name)[key]
touched = rss()
size = sum(p.stat().st_size for p in map_dir.rglob("*") if p.is_file()) / 2**20
print(json.dumps({
    "loaded_mb": round(loaded - before, 1),
    "every_row_mb": round(touched - before, 1),
    "mapped_files_mb": round(size, 1) if how == "mapped" else None,
}))
"""


def snapshot_memory(snapshots: Path) -> dict[str, Any]:
    """What one process holds of the served snapshot: decoded in process (today without a
    map folder) against mapped, right after loading and after building every row."""
    out: dict[str, Any] = {}
    for how in ("decoded", "mapped"):
        done = subprocess.run(
            [sys.executable, "-c", _SNAPSHOT_PROBE, str(snapshots), how],
            capture_output=True,
            text=True,
            check=True,
        )
        out[how] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def _count_connections(server: ServerProcess, into: dict[int, int]) -> None:
    into.update(server.connections())


def measure(
    warehouse: Path,
    snapshots: Path,
    config: Config,
    params: dict[str, Any],
    concurrencies: list[int],
    requests: int,
    budget_s: float,
    round_no: int,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Start one server, run every question at every concurrency, stop it."""
    logs = Path(tempfile.gettempdir()) / "keyart-bench-throughput-logs"
    logs.mkdir(parents=True, exist_ok=True)
    server = start(warehouse, snapshots, config, logs / f"{config.name}-{round_no}.log")
    rows: list[dict[str, Any]] = []
    try:
        t0 = time.perf_counter()
        server.wait_ready(timeout_s=300)
        if config.tree is None and (config.workers or 1) > 1:
            server.wait_accepting(config.workers or 1, timeout_s=300)  # not only the first
        info: dict[str, Any] = {"startup_s": round(time.perf_counter() - t0, 2)}
        for question in ASKED:
            # every worker gets some: the OS cache, DuckDB and the memo warm up
            asyncio.run(warm(server.url, question, params[question][:16]))
        info["memory_ready"] = memory(server)
        for question in ASKED:
            for c in concurrencies:
                load = os.getloadavg()[0]
                cpu_before = server_cpu_s(server)
                # the open connections each serving process holds, once all are open
                split: dict[int, int] = {}
                sampler = threading.Timer(SPLIT_AFTER_S, _count_connections, (server, split))
                sampler.start()
                cell, client_cpu_s = run_cell(
                    server.url, config.name, question, params[question], c, requests, budget_s
                )
                cpu_s = server_cpu_s(server) - cpu_before
                sampler.cancel()
                sampler.join()
                connections = "/".join(str(n) for n in split.values())
                answered = cell.requests - cell.errors
                print(
                    f"  r{round_no} {config.name:<10} {question:<13} c={c:<3} n={cell.requests:<5}"
                    f" p50={cell.p50_ms:8.2f} p95={cell.p95_ms:8.2f} p99={cell.p99_ms:8.2f} ms "
                    f"{cell.throughput_rps:8.1f} req/s errors={cell.errors} load={load:.1f} "
                    f"connections={connections}",
                    flush=True,
                )
                ok_rps = answered / cell.elapsed_s if cell.elapsed_s else 0.0
                rows.append(
                    {
                        **asdict(cell),
                        # refusals (503 OVERLOADED) are fast: only answers count as throughput
                        "ok_rps": round(ok_rps, 1),
                        # the server's CPU per answer: what the load of other work cannot
                        # inflate much, and what bounds req/s on the cores it may use
                        "cpu_ms_per_answer": round(1000 * cpu_s / answered, 2)
                        if answered
                        else None,
                        "server_cores_busy": round(cpu_s / cell.elapsed_s, 2)
                        if cell.elapsed_s
                        else None,
                        "client_cpu_ms_per_request": round(1000 * client_cpu_s / cell.requests, 2),
                        "connections": connections,
                        "round": round_no,
                        "load_1min": round(load, 2),
                    }
                )
        info["memory_after"] = memory(server)
        return rows, info
    finally:
        server.stop()


def summarise(rows: list[dict[str, Any]], configs: Sequence[Config]) -> list[dict[str, Any]]:
    """Per question and concurrency: each configuration's medians over rounds, and each
    one's answered req/s as a multiple of the first configuration's (the baseline)."""
    base = configs[0].name
    out = []
    keys = sorted({(r["question"], r["concurrency"]) for r in rows}, key=lambda k: (k[0], k[1]))
    for question, conc in keys:

        def med(server: str, field: str, q: str = question, c: int = conc) -> float:
            got = [
                r[field]
                for r in rows
                if r["server"] == server
                and r["question"] == q
                and r["concurrency"] == c
                and r.get(field) is not None
            ]
            return round(statistics.median(got), 2) if got else float("nan")

        row: dict[str, Any] = {"question": question, "concurrency": conc}
        for config in configs:
            name = config.name
            row[f"{name}_rps"] = med(name, "ok_rps")
            rps_a = med(base, "ok_rps")
            row[f"{name}_x"] = round(row[f"{name}_rps"] / rps_a, 2) if rps_a > 0 else float("nan")
            for field, label in (
                ("p50_ms", "p50"),
                ("p99_ms", "p99"),
                ("cpu_ms_per_answer", "cpu_ms"),
                ("errors", "errors"),
                ("client_cpu_ms_per_request", "client_cpu_ms"),
            ):
                row[f"{name}_{label}"] = med(name, field)
        out.append(row)
    return out


def render(payload: dict[str, Any]) -> str:
    """The markdown report."""
    names = [c["name"] for c in payload["configs"]]
    memory_rows = []
    for entry in payload["servers"]:
        for when in ("memory_ready", "memory_after"):
            mem = entry[when]
            memory_rows.append(
                {
                    "server": entry["server"],
                    "round": entry["round"],
                    "when": when.removeprefix("memory_"),
                    "processes": len(mem["processes"]),
                    "per process RSS": " / ".join(f"{p['rss_mb']:.0f}" for p in mem["processes"]),
                    "total_rss_mb": mem["total_rss_mb"],
                    "total_pss_mb": mem["total_pss_mb"],
                }
            )
    summary_columns: list[str | tuple[str, str]] = ["question", ("concurrency", "conc")]
    for label, title in (
        ("rps", "req/s"),
        ("x", "×"),
        ("p50", "p50"),
        ("p99", "p99"),
        ("cpu_ms", "CPU ms/answer"),
        ("errors", "refused"),
    ):
        summary_columns += [(f"{name}_{label}", f"{name} {title}") for name in names]
    baseline = (
        f" `{names[0]}` is the server of commit `{payload['baseline']}` (one worker, its "
        "default settings)."
        if payload.get("baseline")
        else ""
    )
    client = [r["client_cpu_ms_per_request"] for r in payload["cells"]]
    lines = [
        "# Uncached throughput: the baseline server against this code's",
        "",
        f"profile `{payload['profile']}`: {payload['data']['titles']} titles, "
        f"{payload['data']['assets']} assets. Every cache off; each request draws one of "
        f"{payload['pool']} distinct variable sets. Configurations interleaved over "
        f"{payload['rounds']} rounds; load average (1 min) before "
        f"{payload['load_average']['before'][0]:.1f}, after "
        f"{payload['load_average']['after'][0]:.1f} on {os.cpu_count()} cores, the load "
        "generator included (bench/loadgen.py, one process per "
        f"{loadgen.CONNECTIONS_PER_PROCESS} connections, on the same cores; it used "
        f"{min(client):.2f}–{max(client):.2f} ms of CPU per request).{baseline}",
        "",
        "## Medians over rounds",
        "",
        markdown_table(payload["summary"], summary_columns),
        "req/s counts answered requests only (refusals, 503 OVERLOADED, are counted as "
        "refused); × is answered req/s against the first configuration's; p50/p99 (ms) are "
        "of every request; CPU is the server's (every process) per answer.",
        "",
        "## Every cell (ms, req/s)",
        "",
        markdown_table(
            payload["cells"],
            [
                "round",
                "server",
                "question",
                ("concurrency", "conc"),
                ("requests", "n"),
                ("errors", "err"),
                ("p50_ms", "p50"),
                ("p95_ms", "p95"),
                ("p99_ms", "p99"),
                ("ok_rps", "answered req/s"),
                ("cpu_ms_per_answer", "CPU ms/answer"),
                ("server_cores_busy", "server cores busy"),
                ("client_cpu_ms_per_request", "client CPU ms/request"),
                ("connections", "connections per process"),
                ("load_1min", "load"),
            ],
        ),
        "## The snapshot in one process (RSS growth, MiB)",
        "",
        markdown_table(
            [{"how": how, **row} for how, row in payload["snapshot_memory"].items()],
            [
                "how",
                ("loaded_mb", "after loading"),
                ("every_row_mb", "after building every row"),
                ("mapped_files_mb", "mapped files (shared)"),
            ],
        ),
        "## Server memory (MiB; main process first, then each worker)",
        "",
        markdown_table(
            memory_rows,
            [
                "server",
                "round",
                "when",
                "processes",
                "per process RSS",
                ("total_rss_mb", "total RSS"),
                ("total_pss_mb", "total PSS"),
            ],
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison and write bench/results/throughput.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--profile", choices=["tiny", "demo", "bench"], default="bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="workers of this code's multi-worker server (default: the host's cores, "
        f"{os.cpu_count() or 1})",
    )
    parser.add_argument(
        "--baseline",
        default=BASELINE,
        metavar="REF",
        help="the server of git commit REF, one worker, as the first configuration "
        f"(default {BASELINE}, the code before issue 18's throughput work; '' for none)",
    )
    parser.add_argument(
        "--one-worker",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run this code with one worker (default: on)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="A/B rounds (default 2)")
    parser.add_argument("--concurrency", default="8,32")
    parser.add_argument(
        "--requests", type=int, default=3000, help="answered requests per cell (default 3000)"
    )
    parser.add_argument(
        "--budget", type=float, default=10.0, help="max seconds per cell (default 10)"
    )
    parser.add_argument("--pool", type=int, default=64, help="distinct variable sets")
    parser.add_argument("--warehouse", type=Path, default=None, help="use this warehouse")
    args = parser.parse_args(list(argv) if argv is not None else None)

    warehouse = args.warehouse or ensure_warehouse(
        args.data / args.profile, args.profile, args.seed, 1.0
    )
    snapshots = ensure_snapshot(warehouse, None)
    params = pick_parameters(warehouse, snapshots, args.pool)
    concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    with tempfile.TemporaryDirectory(prefix="keyart-bench-throughput-") as tmp:
        configs: list[Config] = []
        if args.baseline:
            tree = export_tree(args.baseline, Path(tmp) / "baseline")
            # as installed then: uvicorn on asyncio's loop and h11, not uvloop and httptools
            (tree / "sitecustomize.py").write_text(_WITHOUT_SPEEDUPS)
            configs.append(Config("baseline", 1, str(tree)))
        if args.one_worker or not configs:
            configs.append(Config("1-worker", 1))
        configs.append(Config(f"{args.workers}-workers", args.workers))
        return _run(args, warehouse, snapshots, params, concurrencies, configs)


def _run(
    args: argparse.Namespace,
    warehouse: Path,
    snapshots: Path,
    params: dict[str, Any],
    concurrencies: list[int],
    configs: Sequence[Config],
) -> int:
    """Every round of every configuration, then the results files."""
    rows: list[dict[str, Any]] = []
    servers: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    for round_no in range(1, args.rounds + 1):
        for config in configs:
            print(f"== round {round_no}: {config.name}", flush=True)
            got, info = measure(
                warehouse,
                snapshots,
                config,
                params,
                concurrencies,
                args.requests,
                args.budget,
                round_no,
            )
            rows += got
            servers.append({"server": config.name, "round": round_no, **info})
    payload = {
        "snapshot_memory": snapshot_memory(snapshots),
        "profile": args.profile,
        "warehouse": str(warehouse),
        "measured_at": date.today().isoformat(),
        "data": {k: params[k] for k in ("days", "titles", "assets")},
        "pool": args.pool,
        "rounds": args.rounds,
        "baseline": args.baseline,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "questions": {k: QUESTIONS[k][0] for k in ASKED},
        "configs": [asdict(c) for c in configs],
        "servers": servers,
        "cells": rows,
        "summary": summarise(rows, configs),
    }
    write_results(SUITE, payload, render(payload))
    print(render(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
