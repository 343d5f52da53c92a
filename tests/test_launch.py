"""`keyart serve`'s start imports none of the app: with several workers the supervising
main process only checks, waits and supervises, so it must not carry the schema, the
backends or the store's Arrow and sketch libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("keyart.server", "keyart.schema", "duckdb", "pyarrow", "numpy", "strawberry")

PROBE = f"""
import json, sys
import keyart.cli, keyart.launch, keyart.workers
from keyart.store import files
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""


def test_the_supervisor_path_imports_no_app_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_store_names_still_resolve() -> None:
    from keyart import store
    from keyart.store.consumer import SnapshotConsumer

    assert store.SnapshotConsumer is SnapshotConsumer
    with pytest.raises(AttributeError, match="NoSuchName"):
        store.NoSuchName  # noqa: B018
