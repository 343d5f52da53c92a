"""Routing rules: validation names what is wrong, first match wins, conditions combine, the
percentage split is stable and close to the asked share."""

from __future__ import annotations

import json

import pytest

from keyart.errors import BadUserInput
from keyart.rollout.routing import RuleSet, Target, bucket

RULES = {
    "groups": {"beta": ["alice", "bob"]},
    "rules": [
        {"backend": "legacy", "title_ids": ["t9"]},
        {"backend": "druid", "asset_types": ["artwork"], "key_groups": ["beta"]},
        {"backend": "druid", "asset_types": ["artwork"], "percent": 30, "hash_by": "title"},
        {"backend": "legacy", "keys": ["carol"]},
    ],
    "default": "embedded",
}


def test_first_matching_rule_wins() -> None:
    rs = RuleSet.parse(json.dumps(RULES))
    choose = rs.choose
    # t9 goes to legacy whoever asks and whatever the asset type (rule 1 before rule 2)
    assert choose(Target("t9", "artwork", None, "alice"), "x") == "legacy"
    # a beta key's artwork goes to druid; its video does not
    assert choose(Target("t1", "artwork", None, "bob"), "x") == "druid"
    assert choose(Target("t1", "video", None, "bob"), "x") == "embedded"
    # carol's video: rule 4; her artwork: rule 3 only for titles in the 30% bucket
    assert choose(Target("t1", "video", None, "carol"), "x") == "legacy"
    # a title's metrics match an asset-type rule only when filtered to those types
    assert choose(Target("t1", None, None, "alice"), "x") == "embedded"
    assert choose(Target("t1", None, ("artwork",), "alice"), "x") == "druid"
    assert choose(Target("t1", None, ("artwork", "video"), "alice"), "x") == "embedded"
    # no default: the server's own backend
    assert RuleSet.parse('{"rules": []}').choose(Target("t1", None), "fallback") == "fallback"


def test_percentage_split_is_stable_and_close_to_the_share() -> None:
    rs = RuleSet.parse(json.dumps({"rules": [{"backend": "druid", "percent": 25}]}))
    keys = [f"key-{i}" for i in range(4000)]
    routed = [rs.choose(Target("t", None, None, k), "embedded") for k in keys]
    assert routed == [rs.choose(Target("t", None, None, k), "embedded") for k in keys]
    share = routed.count("druid") / len(keys)
    assert 0.22 < share < 0.28
    assert all((bucket(k) < 2500) == (r == "druid") for k, r in zip(keys, routed, strict=True))
    assert (
        RuleSet.parse('{"rules": [{"backend": "druid", "percent": 0}]}').choose(
            Target("t", None, None, "k"), "embedded"
        )
        == "embedded"
    )


def test_canonical_text_round_trips() -> None:
    rs = RuleSet.parse(json.dumps(RULES))
    assert RuleSet.parse(rs.text()) == rs


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"rulez": []}', "unknown routing field"),
        ('{"default": "oracle"}', "default: backend must be one of"),
        ('{"rules": [{"backend": "druid", "percent": 120}]}', "rules[0].percent must be"),
        ('{"rules": [{"backend": "druid", "asset_types": "artwork"}]}', "rules[0].asset_types"),
        ('{"rules": [{"backend": "druid", "key_groups": ["x"]}]}', "key group 'x' is not declared"),
        ('{"rules": [{"backend": "druid", "hash_by": "day"}]}', "hash_by must be key or title"),
        ('{"rules": [{"backend": "druid", "title": ["t"]}]}', "unknown field(s) ['title']"),
    ],
)
def test_bad_rule_sets_name_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(BadUserInput, match=None) as caught:
        RuleSet.parse(text)
    assert message in str(caught.value)
