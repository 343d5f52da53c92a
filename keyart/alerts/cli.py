"""`keyart alerts evaluate` (what a cron or an orchestrator calls after publishing) and
`keyart alerts list`."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

from keyart.cli_help import examples as _examples
from keyart.config import ApiSettings

if TYPE_CHECKING:
    from keyart.alerts.service import AlertService
    from keyart.state.store import StateStore


def add_arguments(alerts: argparse.ArgumentParser) -> None:
    """The `alerts` actions and their flags."""
    sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    evaluate = sub.add_parser(
        "evaluate",
        help="evaluate every alert rule on a data version (once per rule and version, "
        "whoever runs it) and send the webhooks owed",
        epilog=_examples(
            "keyart alerts evaluate --warehouse .data/warehouse",
            "keyart alerts evaluate --warehouse .data/warehouse --version v000042 --no-deliver",
        ),
    )
    evaluate.add_argument(
        "--version",
        default=None,
        help="warehouse version to evaluate (default: the one the published snapshot serves)",
    )
    evaluate.add_argument(
        "--no-deliver",
        action="store_true",
        help="record alerts and their deliveries but leave sending to the servers (default: send)",
    )
    listing = sub.add_parser(
        "list",
        help="list recent alerts, newest first, with delivery state",
        epilog=_examples(
            "keyart alerts list --warehouse .data/warehouse",
            "keyart alerts list --rule RULE_ID --first 10 --json",
        ),
    )
    listing.add_argument(
        "--rule",
        action="append",
        default=None,
        help="only this rule id (repeatable; default: every rule)",
    )
    listing.add_argument("--first", type=int, default=50, help="how many alerts (default 50)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    for action in (evaluate, listing):
        action.add_argument(
            "--warehouse",
            type=Path,
            default=None,
            help="the warehouse (default: KEYART_WAREHOUSE, else .data/warehouse)",
        )
        action.add_argument(
            "--state-url",
            default=None,
            help="postgresql://… state store (default: KEYART_STATE_URL, else WH/state.sqlite3)",
        )


def main(args: argparse.Namespace) -> int:
    """Run one `keyart alerts` action."""
    from keyart.errors import ConfigError
    from keyart.state.store import StateStore, state_url

    settings = ApiSettings.from_env().with_overrides(
        warehouse=args.warehouse, state_url=args.state_url
    )
    if not settings.warehouse.is_dir():
        raise ConfigError(f"warehouse {settings.warehouse} does not exist")
    store = StateStore.open(state_url(settings.warehouse, settings.state_url))
    try:
        if args.alerts_command == "evaluate":
            return asyncio.run(_evaluate(store, settings, args.version, not args.no_deliver))
        return _list(store, settings, args.rule, args.first, args.json)
    finally:
        store.close()


async def _evaluate(
    store: StateStore, settings: ApiSettings, version_name: str | None, deliver: bool
) -> int:
    from keyart.alerts.outbox import deliver_pending
    from keyart.alerts.service import AlertService
    from keyart.cache import ResultCache
    from keyart.loaders import QueryExecutor
    from keyart.server import build_backend
    from keyart.store.consumer import SnapshotConsumer
    from keyart.warehouse.layout import Warehouse

    snapshot = SnapshotConsumer(settings.snapshots, pin=settings.snapshot_pin).load()
    name = version_name or snapshot.warehouse_version
    version = Warehouse(settings.warehouse).open(name)
    backend = build_backend(settings)
    try:
        executor = QueryExecutor(backend, ResultCache.from_settings(None, 3600))
        service: AlertService = AlertService(store, settings, executor)
        report = await service.evaluator.evaluate(snapshot, version)
    finally:
        await backend.aclose()
    print(
        f"version {report.version}: {report.evaluated} rule(s) evaluated, {report.already} "
        f"done before or elsewhere; {len(report.fired)} alert(s) fired, {report.cleared} "
        f"cleared, {report.cooling} held by the cool-down"
    )
    for alert in report.fired:
        print(f"  {alert.id}  rule {alert.rule_id}  {alert.asset_id}  {alert.reason}")
    if deliver:
        sent = await asyncio.to_thread(
            deliver_pending, service.records, service.rules, service.sender
        )
        ok = sum(d.status == "delivered" for d in sent)
        print(f"webhooks: {ok} delivered, {len(sent) - ok} failed")
    return 0


def _list(
    store: StateStore, settings: ApiSettings, rules: list[str] | None, first: int, as_json: bool
) -> int:
    from keyart.alerts.records import AlertRecords

    alerts = AlertRecords(store, "cli").alerts(rules, None, max(1, first))
    if not as_json:
        print(f"{'id':16}  {'rule':16}  {'created (UTC)':19}  {'webhook':9}  asset  reason")
    for a in alerts:
        if as_json:
            print(
                json.dumps(
                    {
                        "id": a.id,
                        "ruleId": a.rule_id,
                        "assetId": a.asset_id,
                        "titleId": a.title_id,
                        "finding": a.finding,
                        "version": a.version,
                        "days": list(a.days),
                        "values": a.values,
                        "reason": a.reason,
                        "createdAt": a.created_at.isoformat(),
                        "clearedAt": None if a.cleared_at is None else a.cleared_at.isoformat(),
                        "delivery": a.delivery_status,
                        "deliveryAttempts": a.delivery_attempts,
                        "deliveryError": a.delivery_error,
                    }
                )
            )
        else:
            print(
                f"{a.id:16}  {a.rule_id:16}  {a.created_at:%Y-%m-%d %H:%M:%S}  "
                f"{a.delivery_status or '-':9}  {a.asset_id}  {a.reason}"
            )
    return 0


__all__ = ["add_arguments", "main"]
