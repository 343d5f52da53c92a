"""keyart's example query: windows inside the data, and the README shows it for the demo."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from keyart.etl.generator.profiles import get_profile
from keyart.store.model import DataRange
from keyart.web.example import example_query

README = Path(__file__).parents[2] / "README.md"


def test_readme_shows_the_example_over_the_demo_days() -> None:
    demo = get_profile("demo")
    last = date.fromordinal(demo.start.toordinal() + demo.days - 1)
    text = example_query(DataRange(demo.start, last, demo.days))
    assert f"```graphql\n{text}```" in README.read_text()


def test_windows_stay_inside_the_data_and_the_window_limit() -> None:
    text = example_query(DataRange(date(2026, 1, 5), date(2026, 1, 20), 16))
    assert 'start: "2026-01-05", end: "2026-01-20"' in text  # short data: whole range twice
    text = example_query(DataRange(date(2020, 1, 1), date(2026, 1, 1), 2193))
    assert 'start: "2025-01-01", end: "2026-01-01"' in text  # 366 days at most
    assert 'start: "2025-12-03", end: "2026-01-01"' in text  # the last 30 days
    text = example_query(None, today=date(2026, 5, 1))
    assert 'end: "2026-05-01"' in text
