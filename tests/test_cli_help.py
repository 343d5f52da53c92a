"""The command line's help: every flag of every command is described with its default, and
every command shows examples."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from keyart.cli import _parser
from keyart.config import ApiSettings, EtlSettings
from keyart.warehouse.lock import DEFAULT_WAIT_S


def commands(
    parser: argparse.ArgumentParser, name: str = "keyart"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from commands(sub, f"{name} {sub_name}")


def test_every_flag_has_a_description_and_its_default() -> None:
    seen = 0
    for name, parser in commands(_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if not action.option_strings or action.dest == "help":
                continue
            seen += 1
            flag = action.option_strings[0]
            assert action.help, f"{name} {flag} has no description"
            if action.required or isinstance(action, argparse._StoreTrueAction):
                continue  # required, or an off-by-default switch
            if "default" in action.help:
                continue  # says its default in its own words
            assert action.default is not None, f"{name} {flag} does not say its default"
            assert f"(default: {action.default})" in " ".join(text.split()), (name, flag)
    assert seen > 30


@pytest.mark.parametrize("name", [n for n, _ in commands(_parser())])
def test_every_command_has_examples(name: str) -> None:
    parser = dict(commands(_parser()))[name]
    epilog = parser.epilog or ""
    assert epilog.startswith("examples:"), name
    assert "keyart" in epilog


def test_defaults_are_those_of_the_code_they_configure() -> None:
    parser = _parser()
    ingest = parser.parse_args(["ingest", "--raw", "r", "--warehouse", "w"])
    etl = EtlSettings()
    assert (ingest.lg_k, ingest.qualify_seconds, ingest.engaged_seconds) == (
        etl.lg_k,
        etl.qualify_seconds,
        etl.engaged_seconds,
    )
    assert ingest.attribution_hours == etl.attribution_hours
    assert ingest.wait == DEFAULT_WAIT_S
    assert parser.parse_args(["publish", "--warehouse", "w"]).wait == DEFAULT_WAIT_S
    demo = parser.parse_args(["demo"])
    assert (demo.host, demo.port) == (ApiSettings().host, ApiSettings().port)
