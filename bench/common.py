"""Helpers every benchmark suite shares: timing loops, percentiles and result files."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"


def raw_dir(data: Path, profile: str, seed: int, scale: float = 1.0) -> Path:
    """The raw directory of a profile at a scale under `data`, generated first if missing."""
    raw = data / f"{profile}-x{scale:g}-seed{seed}" / "raw"
    if not (raw / "_planted.json").exists():
        from keyart.etl.generator import generate

        print(f"generating {profile} x{scale:g} into {raw}", flush=True)
        started = time.perf_counter()
        generate(profile, raw, seed=seed, scale=scale, progress=True)
        print(f"generated in {time.perf_counter() - started:.0f}s", flush=True)
    return raw


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of sorted samples (numpy's default method)."""
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 (plus min, mean, max and the number of runs) of timing samples."""
    if not samples:
        raise ValueError("percentiles of no samples")
    ordered = sorted(samples)
    return {
        "runs": len(ordered),
        "min": ordered[0],
        "mean": statistics.fmean(ordered),
        "p50": _quantile(ordered, 0.50),
        "p95": _quantile(ordered, 0.95),
        "p99": _quantile(ordered, 0.99),
        "max": ordered[-1],
    }


async def time_async(fn: Callable[[], Awaitable[Any]], runs: int, warmup: int = 5) -> list[float]:
    """Milliseconds of `runs` sequential awaits of `fn()`, after `warmup` untimed ones."""
    for _ in range(warmup):
        await fn()
    samples: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000.0)
    return samples


def time_sync(fn: Callable[[], Any], runs: int, warmup: int = 5) -> list[float]:
    """Milliseconds of `runs` sequential calls of `fn()`, after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000.0)
    return samples


def environment() -> dict[str, Any]:
    """What the figures were measured on (machine, interpreter, key library versions)."""
    versions: dict[str, str] = {}
    for name in ("duckdb", "pyarrow", "datasketches", "strawberry", "starlette", "uvicorn"):
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None) if module is not None else None
        if version is not None:
            versions[name] = str(version)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_1min_at_end": load,
        "versions": versions,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def markdown_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str | tuple[str, str]]
) -> str:
    """A Markdown table; a column is a key or (key, header); numbers are right-aligned."""
    keys = [c if isinstance(c, str) else c[0] for c in columns]
    headers = [c if isinstance(c, str) else c[1] for c in columns]
    numeric = [
        all(isinstance(r.get(k), int | float) for r in rows if r.get(k) is not None)
        and any(r.get(k) is not None for r in rows)
        for k in keys
    ]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(k)) for k in keys) + " |")
    return "\n".join(lines) + "\n"


def write_results(
    name: str, payload: Mapping[str, Any], markdown: str, directory: Path | None = None
) -> tuple[Path, Path]:
    """Write `<name>.json` (payload plus the environment) and `<name>.md` to bench/results."""
    out = RESULTS_DIR if directory is None else directory
    out.mkdir(parents=True, exist_ok=True)
    document = {"suite": name, "environment": environment(), **payload}
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    json_path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    md_path.write_text(markdown if markdown.endswith("\n") else markdown + "\n")
    return json_path, md_path


__all__ = [
    "RESULTS_DIR",
    "environment",
    "markdown_table",
    "percentiles",
    "time_async",
    "time_sync",
    "write_results",
]
