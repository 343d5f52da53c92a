"""Strawberry's name converter with each converted name remembered.

Strawberry converts names not only when it builds the schema but on every field call: its
argument conversion turns each argument's and each input field's Python name into the
GraphQL name again (`to_camel_case`), a few microseconds each, dozens of times per
request. The conversion is a pure function of the name, so it is done once per name.
"""

from __future__ import annotations

from strawberry.schema.name_converter import NameConverter


class MemoNameConverter(NameConverter):
    """NameConverter whose naming rule (snake_case → camelCase) runs once per name; the
    names are the schema's own, so the memo is as large as the schema's set of names."""

    def __init__(self, auto_camel_case: bool = True) -> None:
        super().__init__(auto_camel_case)
        self._names: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        converted = self._names.get(name)
        if converted is None:
            converted = self._names[name] = super().apply_naming_config(name)
        return converted


__all__ = ["MemoNameConverter"]
