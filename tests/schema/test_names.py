"""The remembering name converter gives Strawberry's own names, and converts each once."""

from __future__ import annotations

import pytest
from strawberry.schema.name_converter import NameConverter

from keyart.schema import build_schema
from keyart.schema.names import MemoNameConverter

NAMES = ["window", "play_seconds", "unique_players", "by_affinity", "x", "a_b_c", "_private"]


@pytest.mark.parametrize("camel", [True, False])
def test_names_equal_strawberrys(camel: bool) -> None:
    memo, stock = MemoNameConverter(camel), NameConverter(camel)
    for name in NAMES * 2:
        assert memo.apply_naming_config(name) == stock.apply_naming_config(name)


def test_each_name_is_converted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = NameConverter.apply_naming_config

    def counted(self: NameConverter, name: str) -> str:
        calls.append(name)
        return original(self, name)

    monkeypatch.setattr(NameConverter, "apply_naming_config", counted)
    memo = MemoNameConverter()
    for _ in range(3):
        assert memo.apply_naming_config("play_seconds") == "playSeconds"
    assert calls == ["play_seconds"]


def test_the_schema_uses_it() -> None:
    schema = build_schema()
    assert isinstance(schema.config.name_converter, MemoNameConverter)
