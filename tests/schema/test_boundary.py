"""The GraphQL boundary: schema modules declare types, fields and argument conversion; what a
field answers comes from keyart.resolvers (snapshot-backed fields through
resolvers/catalog.py), never from the snapshot or the snapshot queries directly."""

from __future__ import annotations

import ast
from pathlib import Path

import keyart.schema

SCHEMA = Path(keyart.schema.__file__).parent
# the query cost limiter runs before execution, on the snapshot's sizes (no field resolves)
BEFORE_EXECUTION = {"cost.py"}
# names of the snapshot queries a schema module may use: types of arguments and answers
QUERY_TYPES = {"TitleCriteria", "TitleOrder", "TitlePage"}


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr == "snapshot":
            found.append(f"{path.name}:{node.lineno} reads .snapshot")
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "queries"
            and node.attr not in QUERY_TYPES
        ):
            found.append(f"{path.name}:{node.lineno} calls queries.{node.attr}")
    return found


def test_schema_modules_answer_through_the_resolvers() -> None:
    modules = sorted(p for p in SCHEMA.glob("*.py") if p.name not in BEFORE_EXECUTION)
    assert {"asset.py", "title.py", "query.py", "entity.py"} <= {p.name for p in modules}
    offences = [o for p in modules for o in _offences(p)]
    assert offences == []
