"""How every `keyart` command prints its help: each flag's default, and examples kept as
written."""

from __future__ import annotations

import argparse

EXAMPLES = "examples:"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows each flag's default (unless it is None or off) and keeps the
    examples' line breaks."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(EXAMPLES):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def examples(*lines: str) -> str:
    """An epilog of example command lines."""
    return EXAMPLES + "\n" + "\n".join(f"  {line}" for line in lines)


__all__ = ["EXAMPLES", "HelpFormatter", "examples"]
