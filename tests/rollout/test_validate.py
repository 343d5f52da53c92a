"""`keyart validate` on real stacks: the tiny warehouse's embedded (and Druid) answers agree
with the exact legacy stack; with one day's rollups dropped in a copy, validation fails and
names that day's questions, and no other day's."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from keyart.cli import main
from keyart.state.rollout import ValidationStore
from keyart.state.store import StateStore, state_url
from tests.rollout.damage import Damaged

DAY = re.compile(r"^(\d{4}-\d\d-\d\d) ")


def validate(warehouse: Path, tmp: Path, *extra: str) -> int:
    return main(
        ["validate", "--warehouse", str(warehouse), "--no-progress",
         "--state-url", state_url(tmp / "state"), *extra]
    )  # fmt: skip


def test_embedded_agrees_with_legacy(tiny_warehouse: Path, tmp_path: Path) -> None:
    report = tmp_path / "ok.json"
    code = validate(
        tiny_warehouse, tmp_path, "--backend", "embedded", "--against", "legacy",
        "--titles", "4", "--report", str(report),
    )  # fmt: skip
    body = json.loads(report.read_text())
    assert code == 0, body["disagreements"][:5]
    assert body["passed"] and body["disagreements"] == []
    reasons = set(body["titles"].values())
    assert {"recent", "top"} <= reasons and any(r.startswith("edge") for r in reasons)
    assert body["questions"] == 10 * len(body["titles"]) and body["comparisons"] > 1000
    store = StateStore.open(state_url(tmp_path / "state"))
    try:
        assert ValidationStore(store).disagreements(body["run_id"]) == []
    finally:
        store.close()


def test_a_damaged_day_fails_validation_naming_that_day(damaged: Damaged, tmp_path: Path) -> None:
    report = tmp_path / "bad.json"
    code = validate(
        damaged.warehouse, tmp_path, "--backend", "embedded", "--titles", "3",
        "--report", str(report),
    )  # fmt: skip
    assert code == 1
    body = json.loads(report.read_text())
    assert not body["passed"] and body["disagreements"]
    daily = [d for d in body["disagreements"] if "by day" in d["question"]]
    assert daily, "the daily series must show the damaged day"
    days = {date.fromisoformat(DAY.match(d["group"]).group(1)) for d in daily}  # type: ignore[union-attr]
    assert days == {damaged.day}
    # every disagreeing total covers the damaged day; the legacy side has the data
    for d in body["disagreements"]:
        assert d["against_value"] > d["value"] and d["outside_by"] > 0
    # the same run as readable HTML and Markdown, worst first
    html_report, md_report = tmp_path / "bad.html", tmp_path / "bad.md"
    for path in (html_report, md_report):
        validate(
            damaged.warehouse, tmp_path, "--backend", "embedded", "--titles", "3",
            "--report", str(path),
        )  # fmt: skip
    page = html_report.read_text()
    assert page.startswith("<!doctype html>") and "DISAGREE" in page
    assert damaged.day.isoformat() in page
    assert "| question | group | metric |" in md_report.read_text()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--sample", "recent,newest"], "--sample takes recent, top and/or edge"),
        (["--against", "embedded"], "name the same stack"),
        (["--report", "out.pdf"], "--report must end in .md, .html or .json"),
    ],
)
def test_bad_flags_are_named(
    tiny_warehouse: Path, tmp_path: Path, flags: list[str], message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert validate(tiny_warehouse, tmp_path, "--backend", "embedded", *flags) == 2
    assert message in capsys.readouterr().err


@pytest.mark.druid
@pytest.mark.slow
def test_druid_agrees_with_legacy(tiny_warehouse: Path, tmp_path: Path) -> None:
    from tests.backends.druid.loads import LOAD_TIMEOUT_S
    from tests.druid_support import druid_endpoints_or_skip

    druid = druid_endpoints_or_skip()
    prefix = "rollout_tiny_"
    assert main(
        ["druid", "ingest", "--warehouse", str(tiny_warehouse), "--druid", druid.overlord,
         "--broker", druid.broker, "--timeout", str(LOAD_TIMEOUT_S),
         "--datasource-prefix", prefix]
    ) == 0  # fmt: skip
    report = tmp_path / "druid.json"
    code = validate(
        tiny_warehouse, tmp_path, "--backend", "druid", "--druid-url", druid.broker,
        "--druid-prefix", prefix, "--titles", "4", "--report", str(report),
    )  # fmt: skip
    body = json.loads(report.read_text())
    assert code == 0, body["disagreements"][:5]
    assert body["comparisons"] > 1000


async def test_nothing_to_compare_is_an_error_not_agreement(tiny_warehouse: Path) -> None:
    from keyart.backends.embedded import EmbeddedBackend
    from keyart.backends.legacy import LegacyBackend
    from keyart.errors import BadUserInput
    from keyart.query import Interval
    from keyart.rollout.validate import run_validation

    embedded, legacy = EmbeddedBackend(tiny_warehouse), LegacyBackend(tiny_warehouse)
    try:
        with pytest.raises(
            BadUserInput, match=re.escape("no titles with data in 2001-01-01..2001-01-31")
        ):
            await run_validation(
                embedded, legacy, Interval(date(2001, 1, 1), date(2001, 1, 31)),
                warehouse_version="v", progress=False,
            )  # fmt: skip
    finally:
        await embedded.aclose()
        await legacy.aclose()
