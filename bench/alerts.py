"""Notifications: evaluation cost per rule and for 1,000 rules, and the time from a
published data version to the webhook delivery and to the subscription push.

    python -m bench.alerts                                   # bench profile, 1,000 rules
    python -m bench.alerts --profile demo --rules 1000 --runs 20

Evaluation (in process, embedded backend, result cache on as in a server, SQLite state
store in a temporary folder — never the warehouse's): first one rule of each kind over
every title (a catalog-wide rule), then `--rules` rules of mixed kinds (OUTLIER, CLICKBAIT,
THRESHOLD, ANOMALY) each watching one title, evaluated on the current version in one pass.
Bound (docs/notifications.md): 1,000 rules on the bench profile within 300 s on 2 cores.

Latency (real processes): a `keyart serve` over a copy of the tiny profile's warehouse
(alert poll and snapshot poll 0.2 s), a loopback webhook receiver, a websocket
subscriber; each run ingests the raw data again (a new version changing the same days)
and times from the ingest's return (its snapshot announced) to the webhook's arrival and
to the subscription's push. The rule's alerts are cleared before each run (in the state
store) so that every version fires again.
Results: bench/results/alerts.json and alerts.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.common import RESULTS_DIR, markdown_table, percentiles, write_results
from bench.http import ensure_warehouse

SUITE = "alerts"
BOUND_S = 300.0  # 1,000 rules on bench, 2 cores (documented in docs/notifications.md)


async def _evaluate(
    warehouse: Path, specs: list[Any], state: Path
) -> tuple[float, list[float], int]:
    from keyart.alerts.service import AlertService
    from keyart.cache import ResultCache
    from keyart.config import ApiSettings
    from keyart.loaders import QueryExecutor
    from keyart.server import build_backend
    from keyart.state import StateStore, state_url
    from keyart.store.consumer import SnapshotConsumer
    from keyart.warehouse.layout import Warehouse

    settings = ApiSettings(warehouse=warehouse, state_url=state_url(state))
    snapshot = SnapshotConsumer(settings.snapshots).load()
    version = Warehouse(warehouse).current()
    store = StateStore.open(state_url(state))
    backend = build_backend(settings)
    try:
        service = AlertService(
            store, settings, QueryExecutor(backend, ResultCache.from_settings(None, 3600))
        )
        for spec in specs:
            service.rules.create(spec)
        started = time.perf_counter()
        report = await service.evaluator.evaluate(snapshot, version)
        total = time.perf_counter() - started
    finally:
        await backend.aclose()
        store.close()
    return total, [s * 1000 for s in report.per_rule_s], len(report.fired)


def evaluation(warehouse: Path, rules: int, seed: int) -> dict[str, Any]:
    """Catalog-wide rules one by one, then `rules` one-title rules in one pass."""
    from keyart.alerts.rules import AlertKind, RuleSpec
    from keyart.insights.measures import InsightMetric
    from keyart.store.consumer import SnapshotConsumer

    snapshot = SnapshotConsumer(warehouse / "snapshots").load()
    titles = sorted(snapshot.titles)
    kinds = [
        RuleSpec("outliers", AlertKind.OUTLIER, metric=InsightMetric.TAKE_RATE),
        RuleSpec("clickbait", AlertKind.CLICKBAIT),
        RuleSpec(
            "threshold", AlertKind.THRESHOLD, metric=InsightMetric.QUALIFIED_PLAYS, threshold=50.0
        ),
        RuleSpec("anomaly", AlertKind.ANOMALY, metric=InsightMetric.TAKE_RATE, window_days=28),
    ]
    catalog = []
    for spec in kinds:
        with tempfile.TemporaryDirectory() as state:
            total, _, fired = asyncio.run(_evaluate(warehouse, [spec], Path(state)))
        catalog.append({"rule": f"{spec.kind.name} over every title", "seconds": round(total, 2),
                        "alerts": fired})  # fmt: skip
        print(f"  catalog-wide {spec.kind.name}: {total:.2f}s, {fired} alerts", flush=True)
    rng = random.Random(seed)
    specs = [
        RuleSpec(
            f"r{i}",
            kinds[i % len(kinds)].kind,
            title_ids=(rng.choice(titles),),
            metric=kinds[i % len(kinds)].metric,
            threshold=kinds[i % len(kinds)].threshold,
            window_days=kinds[i % len(kinds)].window_days,
        )
        for i in range(rules)
    ]
    with tempfile.TemporaryDirectory() as state:
        total, per_rule, fired = asyncio.run(_evaluate(warehouse, specs, Path(state)))
    p = percentiles(per_rule)
    print(f"  {rules} one-title rules: {total:.1f}s (p50 {p['p50']:.1f} ms/rule)", flush=True)
    return {
        "catalog_wide": catalog,
        "rules": rules,
        "total_s": round(total, 2),
        "alerts": fired,
        "per_rule_ms": {k: round(v, 2) for k, v in p.items()},
        "bound_s": BOUND_S,
        "met": total <= BOUND_S,
    }


class _Receiver:
    """A loopback webhook receiver noting when each delivery arrived."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.arrivals: list[float] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.arrivals.append(time.time())
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def _subscribe(url: str, token: str, pushes: list[float], stop: threading.Event) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect
    from websockets.typing import Subprotocol

    with (
        contextlib.suppress(ConnectionClosed),
        connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws,
    ):
        auth = {"Authorization": f"Bearer {token}"}
        ws.send(json.dumps({"type": "connection_init", "payload": auth}))
        ws.recv(10)
        query = "subscription { alerts { id } }"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        while not stop.is_set():
            try:
                message = json.loads(ws.recv(0.5))
            except TimeoutError:
                continue
            if message.get("type") == "next":
                pushes.append(time.time())


def latency(data: Path, runs: int, seed: int) -> dict[str, Any]:
    """Publish → webhook and publish → subscription push, `runs` versions."""
    from sqlalchemy import update

    from keyart.config import EtlSettings
    from keyart.demo import ensure_raw
    from keyart.etl.embedded import ingest
    from keyart.state import KeyStore, StateStore, state_url
    from keyart.state.tables import alerts
    from tests.e2e.server_process import ServerProcess

    raw = ensure_raw(data / "tiny", "tiny", seed)
    work = Path(tempfile.mkdtemp(prefix="keyart-bench-alerts-"))
    wh = work / "wh"
    ingest(raw, wh, EtlSettings(), progress=False, publish_snapshot=True)
    url = state_url(work / "state")
    store = StateStore.open(url)
    _, admin = KeyStore(store).create("bench", "admin")
    receiver = _Receiver()
    env = {"KEYART_WEBHOOK_ALLOW": "127.0.0.1/32", "KEYART_ALERT_POLL_S": "0.2",
           "KEYART_SNAPSHOT_POLL_S": "0.2", "KEYART_RATE_LIMIT": "off"}  # fmt: skip
    server = ServerProcess(
        ["serve", "--warehouse", str(wh), "--state-url", url], work / "serve.log", env,
        anonymous=False,
    )  # fmt: skip
    to_webhook: list[float] = []
    to_push: list[float] = []
    stop = threading.Event()
    pushes: list[float] = []
    try:
        server.wait_ready(timeout_s=300)
        title = httpx.post(
            server.url + "/graphql",
            json={"query": "{ titles(first: 1) { edges { node { id assets { id } } } } }"},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=60,
        ).json()["data"]["titles"]["edges"][0]["node"]
        fires = len(title["assets"])
        created = httpx.post(
            server.url + "/graphql",
            json={
                "query": "mutation ($i: AlertRuleInput!) { createAlertRule(input: $i) { id } }",
                "variables": {
                    "i": {
                        "name": "bench",
                        "kind": "THRESHOLD",
                        "metric": "QUALIFIED_PLAYS",
                        "threshold": 0,
                        "titleIds": [title["id"]],
                        "webhookUrl": receiver.url,
                    }
                },
            },
            headers={"Authorization": f"Bearer {admin}"},
            timeout=60,
        ).json()
        rule_id = created["data"]["createAlertRule"]["id"]
        listener = threading.Thread(
            target=_subscribe,
            args=(server.url.replace("http", "ws") + "/graphql", admin, pushes, stop),
            daemon=True,
        )
        listener.start()
        deadline = time.monotonic() + 60
        while len(receiver.arrivals) < fires and time.monotonic() < deadline:
            time.sleep(0.05)  # the rule's first evaluation, on the version served
        time.sleep(0.5)
        for run in range(runs):
            with store.engine.begin() as conn:
                conn.execute(
                    update(alerts)
                    .where(alerts.c.rule_id == rule_id)
                    .where(alerts.c.cleared_at.is_(None))
                    .values(cleared_at=datetime.now(UTC))
                )
            seen_hooks, seen_pushes = len(receiver.arrivals), len(pushes)
            ingest(raw, wh, EtlSettings(), progress=False, publish_snapshot=True)
            published = time.time()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and (
                len(receiver.arrivals) < seen_hooks + fires or len(pushes) < seen_pushes + fires
            ):
                time.sleep(0.01)
            if len(receiver.arrivals) >= seen_hooks + fires:
                to_webhook.append((receiver.arrivals[seen_hooks + fires - 1] - published) * 1000)
            if len(pushes) >= seen_pushes + fires:
                to_push.append((pushes[seen_pushes + fires - 1] - published) * 1000)
            print(f"  run {run + 1}/{runs}: webhook {to_webhook[-1:]}, push {to_push[-1:]}",
                  flush=True)  # fmt: skip
    finally:
        stop.set()
        server.stop()
        receiver.server.shutdown()
        store.close()
        shutil.rmtree(work, ignore_errors=True)
    return {
        "runs": runs,
        "alerts_per_version": fires,
        "publish_to_webhook_ms": {k: round(v, 1) for k, v in percentiles(to_webhook).items()},
        "publish_to_push_ms": {k: round(v, 1) for k, v in percentiles(to_push).items()},
        "poll_s": 0.2,
    }


def render(payload: dict[str, Any]) -> str:
    """The markdown report."""
    ev, lat = payload["evaluation"], payload["latency"]
    load = payload["load_average"]
    lines = [
        "# Notifications benchmark",
        "",
        f"Evaluation on profile `{payload['profile']}`; latency on `tiny`. Machine load "
        f"average before {'/'.join(f'{v:.1f}' for v in load['before'])}, after "
        f"{'/'.join(f'{v:.1f}' for v in load['after'])} on {os.cpu_count()} cores (shared).",
        "",
    ]
    if ev is not None:
        lines += [
            "## Evaluation cost",
            "",
            markdown_table(ev["catalog_wide"], ["rule", "seconds", "alerts"]),
            f"{ev['rules']} one-title rules of mixed kinds in one pass: **{ev['total_s']} s** "
            f"(bound {ev['bound_s']} s: {'met' if ev['met'] else 'NOT met'}), "
            f"{ev['alerts']} alerts; per rule p50 {ev['per_rule_ms']['p50']} ms, "
            f"p95 {ev['per_rule_ms']['p95']} ms, p99 {ev['per_rule_ms']['p99']} ms.",
            "",
        ]
    if lat is not None:
        w, p = lat["publish_to_webhook_ms"], lat["publish_to_push_ms"]
        lines += [
            "## Publish to delivery",
            "",
            f"{lat['runs']} versions, {lat['alerts_per_version']} alerts each; alert poll and "
            f"snapshot poll {lat['poll_s']} s (the time is dominated by them).",
            "",
            markdown_table(
                [
                    {"path": "publish → webhook (last alert)", **w},
                    {"path": "publish → subscription push (last alert)", **p},
                ],
                ["path", "runs", "p50", "p95", "p99", "max"],
            ),
        ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the notifications benchmark and write bench/results/alerts.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.alerts", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("/tmp/keyart-bench"))
    parser.add_argument("--profile", choices=["tiny", "demo", "bench"], default="bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rules", type=int, default=1000, help="rules in one pass (1000)")
    parser.add_argument("--runs", type=int, default=30, help="published versions timed (30)")
    parser.add_argument("--warehouse", type=Path, default=None, help="use this warehouse")
    parser.add_argument("--skip", choices=["evaluation", "latency"], default=None)
    args = parser.parse_args(list(argv) if argv is not None else None)
    load_before = os.getloadavg()
    ev = lat = None
    if args.skip != "evaluation":
        warehouse = args.warehouse or ensure_warehouse(
            args.data / args.profile, args.profile, args.seed, 1.0
        )
        ev = evaluation(warehouse, args.rules, args.seed)
    if args.skip != "latency":
        lat = latency(args.data, args.runs, args.seed)
    previous = RESULTS_DIR / f"{SUITE}.json"
    if args.skip is not None and previous.exists():
        # a skipped part keeps the figures of the last run that measured it
        kept = json.loads(previous.read_text())
        ev = ev if ev is not None else kept.get("evaluation")
        lat = lat if lat is not None else kept.get("latency")
    payload = {
        "profile": args.profile,
        "measured_at": datetime.now(UTC).date().isoformat(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "evaluation": ev,
        "latency": lat,
    }
    write_results(SUITE, payload, render(payload))
    print(render(payload))
    return 0


__all__ = ["main"]


if __name__ == "__main__":
    raise SystemExit(main())
