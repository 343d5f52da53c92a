"""The committed dashboard bundle (keyart/web/dashboard) is exactly what the sources in web/
build with the locked dependencies (type-checked first). Skips without node/npm unless
KEYART_REQUIRE_NODE=1 (.ci/run installs them and sets it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from keyart.web.dashboard import BUNDLE_DIR

WEB = Path(__file__).parents[2] / "web"
NODE_MIN = (20, 19)  # Vite 7's minimum
SOURCES = ("package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "index.html")


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def node_problem(node: str | None, npm: str | None) -> str | None:
    """Why this machine cannot build the bundle, or None."""
    if node is None or npm is None:
        return "node and npm are not installed"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    found = tuple(int(part) for part in version.strip().lstrip("v").split(".")[:2])
    if found < NODE_MIN:
        return f"Vite 7 needs Node.js >= {NODE_MIN[0]}.{NODE_MIN[1]}, found {version.strip()}"
    return None


def test_the_committed_bundle_is_what_the_sources_build(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    problem = node_problem(shutil.which("node"), npm)
    if problem is not None:
        if os.environ.get("KEYART_REQUIRE_NODE") == "1":
            pytest.fail(f"KEYART_REQUIRE_NODE=1 but {problem}")
        pytest.skip(problem)
    assert npm is not None
    folder = tmp_path / "web"
    folder.mkdir()
    for name in SOURCES:
        shutil.copy(WEB / name, folder / name)
    shutil.copytree(WEB / "src", folder / "src")
    out = tmp_path / "out"

    def run(*args: str) -> None:
        done = subprocess.run([npm, *args], cwd=folder, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (
            f"npm {' '.join(args)}: {done.stdout[-1500:]}{done.stderr[-1500:]}"
        )

    run("ci", "--no-audit", "--no-fund", "--loglevel=error")
    run("exec", "--", "tsc", "--noEmit")
    run("exec", "--", "vite", "build", "--outDir", str(out), "--emptyOutDir", "--logLevel", "warn")
    built, committed = files(out), files(BUNDLE_DIR)
    assert sorted(built) == sorted(committed), "run `make web` and commit keyart/web/dashboard"
    for name, content in built.items():
        assert committed[name] == content, f"{name} differs: run `make web` and commit it"
