"""The custom scalars of the API: `Date` (ISO yyyy-mm-dd) and `Long` (64-bit integer)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, NewType

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from keyart.errors import BadUserInput

Long = NewType("Long", int)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _serialize_date(value: date) -> str:
    return value.isoformat()


def _parse_date(value: Any) -> date:
    if not isinstance(value, str) or not _DATE.match(value):
        raise BadUserInput(f"Date must be a string yyyy-mm-dd, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadUserInput(f"Date {value!r} is not a calendar day: {exc}") from exc


def _parse_date_literal(node: ValueNode, _variables: Any = None) -> date:
    if not isinstance(node, StringValueNode):
        raise BadUserInput("Date must be a string yyyy-mm-dd")
    return _parse_date(node.value)


def _serialize_long(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Long cannot represent {value!r}")
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise TypeError(f"Long cannot represent {value}: outside the 64-bit range")
    return value


def _parse_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise BadUserInput(f"Long must be an integer, got {value!r}")
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise BadUserInput(f"Long {value} is outside the 64-bit range")
    return int(value)


def _parse_long_literal(node: ValueNode, _variables: Any = None) -> int:
    if isinstance(node, IntValueNode):
        return _parse_long(int(node.value))
    if isinstance(node, FloatValueNode):
        return _parse_long(float(node.value))
    raise BadUserInput("Long must be an integer")


DATE_SCALAR: ScalarDefinition = strawberry.scalar(
    name="Date",
    description="A UTC day in ISO 8601 form, yyyy-mm-dd.",
    serialize=_serialize_date,
    parse_value=_parse_date,
    parse_literal=_parse_date_literal,
)

LONG_SCALAR: ScalarDefinition = strawberry.scalar(
    name="Long",
    description="A 64-bit signed integer, sent as a JSON number.",
    serialize=_serialize_long,
    parse_value=_parse_long,
    parse_literal=_parse_long_literal,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {date: DATE_SCALAR, Long: LONG_SCALAR}

__all__ = ["DATE_SCALAR", "LONG_SCALAR", "SCALAR_MAP", "Long"]
