"""`keyart alerts list` over a state store holding alerts; `keyart alerts evaluate` on a
warehouse that does not exist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from keyart.alerts.records import AlertRecords, Finding
from keyart.state import StateStore, state_url


def keyart(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keyart.cli", "alerts", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_list_shows_the_stored_alerts_newest_first(tiny_warehouse: Path, tmp_path: Path) -> None:
    url = state_url(tmp_path)
    store = StateStore.open(url)
    records = AlertRecords(store, "test")
    for version, asset in (("v1", "a1"), ("v2", "a2")):
        assert records.acquire("r1", version, 60)
        found = [Finding(asset, "t1", "clickbait", {"effectiveness": 2.0}, f"{asset} reason")]
        records.commit("r1", "n", "clickbait", None, version, ["2026-01-01"], found, 0)
    store.close()
    done = keyart("list", "--warehouse", str(tiny_warehouse), "--state-url", url, "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["assetId"] for r in rows] == ["a2", "a1"]
    assert rows[0]["reason"] == "a2 reason" and rows[0]["delivery"] is None
    table = keyart("list", "--warehouse", str(tiny_warehouse), "--state-url", url, "--first", "1")
    assert table.returncode == 0 and "a2 reason" in table.stdout
    # one row under the header, and not a1's (as a word: a random hex id may hold "a1")
    _header, *listed = table.stdout.splitlines()
    assert len(listed) == 1 and " a1 " not in listed[0] and "a1 reason" not in listed[0]


def test_a_missing_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    done = keyart("evaluate", "--warehouse", str(tmp_path / "nope"))
    assert done.returncode != 0 and "does not exist" in done.stderr
    assert not (tmp_path / "nope").exists()
