"""Notifications end to end over real processes: `keyart serve` (two of them sharing one
state store), admin mutations over HTTP, a websocket subscription, a loopback webhook
receiver checking signatures, a real ingest publishing a new version; SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from keyart.alerts.evaluate import changed_days
from keyart.config import EtlSettings
from keyart.etl.embedded import ingest
from keyart.state import KeyStore, StateStore
from keyart.state.tables import alert_evaluations
from keyart.warehouse.layout import Warehouse
from tests.alerts.receiver import Receiver
from tests.e2e.server_process import ServerProcess
from tests.truth import truth_of

CREATE = """
mutation ($input: AlertRuleInput!) {
  createAlertRule(input: $input) { id name kind threshold metric secret webhookUrl }
}"""
SUBSCRIBE = "subscription ($ids: [ID!]) { alerts(ruleIds: $ids) { id ruleId assetId reason } }"
ALERTS = """
query ($rule: ID, $after: String) {
  alerts(ruleId: $rule, first: 500, after: $after) {
    edges { node { id assetId titleId dataVersion days reason values { name value }
                   delivery { id status attempts } asset { id } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
ENV = {
    "KEYART_WEBHOOK_ALLOW": "127.0.0.1/32",
    "KEYART_ALERT_POLL_S": "0.2",
    "KEYART_SNAPSHOT_POLL_S": "0.2",
    "KEYART_WEBHOOK_BACKOFF_S": "0.05",
}


def post(server: ServerProcess, token: str, query: str, variables: dict[str, Any]) -> Any:
    answer = httpx.post(
        server.url + "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    return answer.json()


def expected_assets(raw: Path, warehouse: Path, threshold_rank: float) -> tuple[float, set[str]]:
    """A qualified-plays threshold over the rule's window and the assets at or above it,
    from the raw events."""
    version = Warehouse(warehouse).current()
    end = max(changed_days(version))
    exact = truth_of(raw).by_asset(end - timedelta(days=6), end)
    counts = sorted(e.qualified_plays for e in exact.values() if e.qualified_plays)
    threshold = float(statistics.quantiles(counts, n=10)[int(threshold_rank * 10) - 1])
    return threshold, {str(a) for a, e in exact.items() if e.qualified_plays >= threshold}


async def collect(
    url: str, token: str, ids: list[str] | None, want: int, ready: asyncio.Event
) -> list[Any]:
    """Subscribe over graphql-transport-ws and return the first `want` alerts pushed."""
    got: list[Any] = []
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"ids": ids}},
                }
            )
        )
        ready.set()
        while len(got) < want:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            assert message["type"] == "next", message
            got.append(message["payload"]["data"]["alerts"])
    return got


def test_rules_alerts_webhooks_and_subscriptions_across_two_servers(
    tiny_raw: Path, tiny_warehouse: Path, tmp_path: Path, store_url: str
) -> None:
    warehouse = tmp_path / "wh"
    shutil.copytree(tiny_warehouse, warehouse)
    threshold, expected = expected_assets(tiny_raw, warehouse, 0.8)
    assert expected
    store = StateStore.open(store_url)
    keys = KeyStore(store)
    _, admin = keys.create("admin", "admin")
    _, reader = keys.create("reader", "read")
    receiver = Receiver(fail_first=2).start()  # the first delivery needs its retries
    servers = [
        ServerProcess(
            ["serve", "--warehouse", str(warehouse), "--state-url", store_url],
            tmp_path / f"serve{i}.log",
            ENV,
            anonymous=False,
        )
        for i in range(2)
    ]
    try:
        for s in servers:
            s.wait_ready()
        one, two = servers
        rule_input = {
            "name": "busy assets",
            "kind": "THRESHOLD",
            "metric": "QUALIFIED_PLAYS",
            "threshold": threshold,
            "windowDays": 7,
            "webhookUrl": receiver.url,
        }
        refused = post(one, reader, CREATE, {"input": rule_input})
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        for bad, field in [
            ({**rule_input, "threshold": None}, "threshold"),
            ({**rule_input, "titleIds": ["no-such-title"]}, "titleIds"),
            ({**rule_input, "webhookUrl": "http://10.1.2.3/hook"}, "webhookUrl"),
        ]:
            answer = post(one, admin, CREATE, {"input": bad})
            assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
            assert field in answer["errors"][0]["message"]
        assert post(one, admin, "{ alertRules { id } }", {})["data"]["alertRules"] == []

        async def scenario() -> tuple[dict[str, Any], list[Any]]:
            ready = asyncio.Event()
            # the rule id is not known before creating it: subscribe to every rule
            pushed = asyncio.create_task(
                collect(
                    two.url.replace("http", "ws") + "/graphql", reader, None, len(expected), ready
                )
            )
            await asyncio.wait_for(ready.wait(), 30)
            created = await asyncio.to_thread(post, one, admin, CREATE, {"input": rule_input})
            return created, await asyncio.wait_for(pushed, 90)

        created, pushed = asyncio.run(scenario())
        rule = created["data"]["createAlertRule"]
        assert rule["secret"] and rule["threshold"] == threshold
        assert {p["assetId"] for p in pushed} == expected and {p["ruleId"] for p in pushed} == {
            rule["id"]
        }

        got = receiver.wait_for(len(expected), 60)
        assert all(r.signed_with(rule["secret"]) for r in receiver.requests)
        assert {r.json()["alert"]["assetId"] for r in got} == expected
        assert len(receiver.requests) == len(expected) + 2  # two 500s, retried
        listed = post(two, reader, ALERTS, {"rule": rule["id"]})["data"]["alerts"]
        nodes = [e["node"] for e in listed["edges"]]
        assert {n["assetId"] for n in nodes} == expected
        deadline = time.monotonic() + 30
        while {n["delivery"]["status"] for n in nodes} != {
            "delivered"
        } and time.monotonic() < deadline:
            time.sleep(0.2)
            nodes = [
                e["node"]
                for e in post(two, reader, ALERTS, {"rule": rule["id"]})["data"]["alerts"]["edges"]
            ]
        assert {n["delivery"]["status"] for n in nodes} == {"delivered"}
        assert post(one, admin, "{ alertRules { secret } }", {})["data"]["alertRules"] == [
            {"secret": None}
        ]

        # a new version publishing the same days: evaluated once (by one server), nothing new
        ingest(tiny_raw, warehouse, EtlSettings(), progress=False, publish_snapshot=True)
        new_version = Warehouse(warehouse).current().name
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with store.engine.connect() as conn:
                rows = conn.execute(
                    select(alert_evaluations).where(alert_evaluations.c.version == new_version)
                ).all()
            if rows and rows[0].status == "done":
                break
            time.sleep(0.2)
        assert len(rows) == 1 and rows[0].status == "done"
        with store.engine.connect() as conn:
            evaluations = conn.exec_driver_sql("SELECT count(*) FROM alert_evaluations").scalar()
            alerts = conn.exec_driver_sql("SELECT count(*) FROM alerts").scalar()
        assert evaluations == 2 and alerts == len(expected)

        test = post(
            one,
            admin,
            "mutation ($id: ID!) { testAlertRule(id: $id) { id status attempts } }",
            {"id": rule["id"]},
        )
        assert test["data"]["testAlertRule"]["status"] == "delivered"
        assert receiver.requests[-1].json()["type"] == "test"
        assert receiver.requests[-1].signed_with(rule["secret"])
    finally:
        for s in servers:
            assert s.stop() == 0, s.output()
        receiver.stop()
        store.close()
