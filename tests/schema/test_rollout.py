"""The rollout admin fields over HTTP on real stacks: stackDiff agrees on intact data and
flags the damaged day against exact truth; routing rules set and rolled back by mutation
change which backend answers (response extension); read keys are refused."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from keyart.state.keys import KeyStore
from keyart.state.store import StateStore, state_url
from tests.e2e.harness import api, codes, data, gql
from tests.rollout.damage import Damaged
from tests.truth import truth_of

DIFF = """query($id: ID!, $w: DateRange!, $against: Backend!) {
  title(id: $id) { stackDiff(window: $w, against: $against) {
    backend against withinTolerance
    metrics { metric value againstValue difference tolerance outsideBy withinTolerance } } }
}"""
ASSET_METRICS = """query($id: ID!, $w: DateRange!) {
  asset(id: $id) { metrics(window: $w) { impressions } } }"""
BOTH = """query($a: ID!, $v: ID!, $w: DateRange!) {
  a: asset(id: $a) { metrics(window: $w) { impressions } }
  v: asset(id: $v) { metrics(window: $w) { impressions } } }"""
SET = "mutation($r: String!) { setRoutingRules(rules: $r) { id action createdBy summary } }"
ROLLBACK = "mutation { rollbackRoutingRules { id action rules } }"
LIST = "{ routingRules { id action createdBy } }"


def tokens(url: str) -> tuple[str, str]:
    store = StateStore.open(url)
    try:
        keys = KeyStore(store)
        return keys.create("ops", "admin")[1], keys.create("viewer", "read")[1]
    finally:
        store.close()


def window(day: object) -> dict[str, str]:
    return {"start": str(day), "end": str(day)}


async def test_stack_diff_against_exact_truth(
    damaged: Damaged, tiny_raw: Path, tmp_path: Path
) -> None:
    truth = truth_of(tiny_raw)
    url = state_url(tmp_path / "state")
    admin, viewer = tokens(url)
    title = truth.busiest("title", 1)[0]
    day = damaged.day
    async with api(damaged.warehouse, state_url=url, allow_anonymous=False) as client:
        client.headers["Authorization"] = f"Bearer {admin}"
        before = day - timedelta(days=1)
        ok = await data(client, DIFF, {"id": title, "w": window(before), "against": "LEGACY"})
        diff = ok["title"]["stackDiff"]
        assert (diff["backend"], diff["against"], diff["withinTolerance"]) == (
            "embedded", "legacy", True
        )  # fmt: skip
        exact = truth.metrics(before, before, titles=[title])
        by_metric = {m["metric"]: m for m in diff["metrics"]}
        assert by_metric["impressions"]["againstValue"] == exact.impressions
        assert by_metric["unique_players"]["againstValue"] == exact.unique_players
        bad = await data(client, DIFF, {"id": title, "w": window(day), "against": "LEGACY"})
        diff = bad["title"]["stackDiff"]
        assert not diff["withinTolerance"]
        exact = truth.metrics(day, day, titles=[title])
        imps = {m["metric"]: m for m in diff["metrics"]}["impressions"]
        assert (imps["value"], imps["againstValue"]) == (0, exact.impressions) != (0, 0)
        assert imps["outsideBy"] == exact.impressions and not imps["withinTolerance"]
        client.headers["Authorization"] = f"Bearer {viewer}"
        refused = await gql(client, DIFF, {"id": title, "w": window(day), "against": "LEGACY"})
        assert codes(refused) == ["FORBIDDEN"] and refused["data"]["title"]["stackDiff"] is None


async def test_routing_mutations_switch_backends_and_roll_back(
    tiny_warehouse: Path, tmp_path: Path
) -> None:
    url = state_url(tmp_path / "state")
    admin, viewer = tokens(url)
    async with api(tiny_warehouse, state_url=url, allow_anonymous=False) as client:
        snapshot = client.app.state.keyart.consumer.current()  # type: ignore[attr-defined]
        kinds: dict[str, str] = {}
        for asset in snapshot.assets.values():
            kinds.setdefault(asset.type, asset.id)
        artwork, video = kinds["artwork"], kinds["video"]
        w = {"start": "2026-01-21", "end": "2026-02-10"}

        async def served(asset: str) -> tuple[list[str], int]:
            payload = await gql(client, ASSET_METRICS, {"id": asset, "w": w})
            assert not payload.get("errors"), payload
            imps = payload["data"]["asset"]["metrics"]["impressions"]
            return payload["extensions"]["backends"], imps

        client.headers["Authorization"] = f"Bearer {viewer}"
        base_art, base_video = await served(artwork), await served(video)
        assert base_art[0] == base_video[0] == ["embedded"]
        assert codes(await gql(client, SET, {"r": "{}"})) == ["FORBIDDEN"]
        client.headers["Authorization"] = f"Bearer {admin}"
        rules = {"rules": [{"backend": "legacy", "asset_types": ["artwork"]}]}
        bad = await gql(client, SET, {"r": '{"rules": [{"backend": "oracle"}]}'})
        assert codes(bad) == ["BAD_USER_INPUT"] and "oracle" in bad["errors"][0]["message"]
        made = (await data(client, SET, {"r": json.dumps(rules)}))["setRoutingRules"]
        assert (made["action"], made["createdBy"]) == ("set", "key:ops")
        assert made["summary"][0] == "1. asset_types=['artwork'] -> legacy"
        client.headers["Authorization"] = f"Bearer {viewer}"
        # same numbers (exact counts), now from the legacy stack for artwork only
        assert await served(artwork) == (["legacy"], base_art[1])
        assert await served(video) == (["embedded"], base_video[1])
        # one request whose parts go to different stacks names both
        both = await gql(client, BOTH, {"a": artwork, "v": video, "w": w})
        assert not both.get("errors") and both["extensions"]["backends"] == ["embedded", "legacy"]
        client.headers["Authorization"] = f"Bearer {admin}"
        back = (await data(client, ROLLBACK))["rollbackRoutingRules"]
        assert back["action"] == "rollback" and json.loads(back["rules"]) == {"rules": []}
        history = (await data(client, LIST))["routingRules"]
        assert [h["action"] for h in history] == ["rollback", "set"]
        client.headers["Authorization"] = f"Bearer {viewer}"
        assert await served(artwork) == (["embedded"], base_art[1])
        metrics_text = (await client.get("/metrics")).text
    assert 'keyart_backend_answers_total{backend="legacy"} 2.0' in metrics_text
