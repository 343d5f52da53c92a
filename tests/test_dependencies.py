"""Every package keyart imports is declared in pyproject.toml (a dependency or the Spark
extra), so a clean install has it and its bounds are ours, not a transitive accident."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]


def _imported_modules() -> dict[str, str]:
    """Each third-party top-level module keyart imports, with one file importing it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "keyart").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "keyart" and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["spark"]]
    declared = {canonicalize_name(Requirement(r).name) for r in requirements}
    distributions = importlib.metadata.packages_distributions()
    imported = _imported_modules()
    assert {"strawberry", "graphql", "cross_web", "packaging"} <= set(imported)
    undeclared = {
        module: where
        for module, where in imported.items()
        if not {canonicalize_name(d) for d in distributions.get(module, [])} & declared
    }
    assert undeclared == {}, "imported but not declared in pyproject.toml"
