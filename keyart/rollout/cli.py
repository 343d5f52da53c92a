"""The flags of `keyart validate` and `keyart flags set|list|rollback`, and the flags
actions (kept free of heavy imports: `keyart --help` builds these parsers)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from keyart.cli_help import examples as _examples

BACKENDS = ("embedded", "druid", "legacy")  # as keyart.rollout.routing.BACKENDS
SAMPLES = ("recent", "top", "edge")  # as keyart.rollout.questions.SAMPLES


def add_validate_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `keyart validate`."""
    parser.description = (
        "Ask two stacks the same questions about recently active, top and edge-case titles "
        "and compare every value (exact counts equal, distinct counts within sketch bounds; "
        "docs/rollout.md). Exit 0 when all agree, 1 when any value disagrees, 2 on bad input "
        "or an unreachable stack."
    )
    parser.add_argument("--warehouse", type=Path, required=True, help="warehouse to validate")
    parser.add_argument(
        "--backend", choices=BACKENDS, required=True, help="the stack being validated"
    )
    parser.add_argument(
        "--against", choices=BACKENDS, default="legacy", help="the reference stack (default legacy)"
    )
    parser.add_argument(
        "--druid-url", default=None,
        help="Druid broker URL (default: KEYART_DRUID_URL, else http://127.0.0.1:8082)",
    )  # fmt: skip
    parser.add_argument(
        "--druid-prefix", default="keyart_",
        help="prefix of the Druid datasource names (default keyart_, as `keyart druid ingest`)",
    )  # fmt: skip
    parser.add_argument(
        "--sample", default=",".join(SAMPLES),
        help="which titles: any of recent,top,edge, comma-separated (default all three)",
    )  # fmt: skip
    parser.add_argument("--titles", type=int, default=10, help="titles per sample (default 10)")
    parser.add_argument(
        "--slack", type=float, default=1.0,
        help="widen every sketch bound by this factor (>= 1); exact counts get none "
        "(default 1.0)",
    )  # fmt: skip
    parser.add_argument(
        "--report", type=Path, default=None,
        help="write the report to FILE.md, FILE.html or FILE.json (default: none)",
    )  # fmt: skip
    parser.add_argument(
        "--state-url", default=None,
        help="state store recording the run (default: KEYART_STATE_URL, else WH/state.sqlite3)",
    )  # fmt: skip
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar (default: shown)"
    )


def add_flags_arguments(flags: argparse.ArgumentParser) -> None:
    """The `flags` actions and their flags."""
    flags.description = (
        "Routing rules choose the backend of each title's or asset's metrics (docs/rollout.md); "
        "every change is recorded with who and when, and running servers pick it up within "
        "KEYART_ROUTING_POLL_S seconds."
    )
    fsub = flags.add_subparsers(dest="flags_command", required=True, metavar="ACTION")
    put = fsub.add_parser(
        "set",
        help="put a new rule set in force (running servers pick it up within seconds)",
        epilog=_examples(
            "keyart flags set rules.json --warehouse .data/warehouse --by alice",
            "cat rules.json | keyart flags set - --state-url postgresql://…",
        ),
    )
    put.add_argument("rules", help="JSON file of the rule set (docs/rollout.md), or - for stdin")
    listing = fsub.add_parser(
        "list",
        help="the rule set in force and the history of changes",
        epilog=_examples("keyart flags list --warehouse .data/warehouse --history 20"),
    )
    listing.add_argument(
        "--history", type=int, default=10, help="how many past changes to show (default 10)"
    )
    back = fsub.add_parser(
        "rollback",
        help="put back the rule set in force before the current",
        epilog=_examples("keyart flags rollback --warehouse .data/warehouse --by alice"),
    )
    for action in (put, back):
        action.add_argument(
            "--by", default=None, help="who makes the change (default: the OS user name)"
        )
    for action in (put, listing, back):
        action.add_argument(
            "--warehouse", type=Path, default=None,
            help="warehouse whose state.sqlite3 is the state store "
            "(default: KEYART_WAREHOUSE, else .data/warehouse)",
        )  # fmt: skip
        action.add_argument(
            "--state-url", default=None,
            help="postgresql://… state store instead of the warehouse's SQLite file "
            "(default: KEYART_STATE_URL)",
        )  # fmt: skip


def flags_main(args: argparse.Namespace) -> int:
    """Run one `keyart flags` action."""
    from keyart.errors import BadUserInput
    from keyart.rollout.routing import RuleSet, describe
    from keyart.state.cli import _url
    from keyart.state.rollout import RoutingStore
    from keyart.state.store import StateStore

    who = getattr(args, "by", None) or f"cli:{getpass.getuser()}"
    if args.flags_command == "set":
        try:
            text = sys.stdin.read() if args.rules == "-" else Path(args.rules).read_text()
        except OSError as exc:
            raise BadUserInput(f"cannot read the rule set {args.rules}: {exc}") from exc
        rules = RuleSet.parse(text)  # validated before anything is stored
    store = StateStore.open(_url(args))
    try:
        routing = RoutingStore(store)
        if args.flags_command == "set":
            record = routing.set(rules.text(), who)
            print(f"rule set {record.id} in force (set by {who}):")
            for line in describe(rules.rules) or ["(no rules)"]:
                print(f"  {line}")
            print(f"  default -> {rules.default or 'the server backend'}")
        elif args.flags_command == "rollback":
            record = routing.rollback(who)
            restored = RuleSet.parse(record.rules)
            print(f"rule set {record.id} in force (rolled back by {who}):")
            for line in describe(restored.rules) or ["(no rules)"]:
                print(f"  {line}")
            print(f"  default -> {restored.default or 'the server backend'}")
        else:
            history = routing.history(max(1, args.history))
            if not history:
                print("no routing rules were ever set: every server answers from its backend")
                return 0
            current = RuleSet.parse(history[0].rules)
            print(f"in force: rule set {history[0].id}")
            for line in describe(current.rules) or ["(no rules)"]:
                print(f"  {line}")
            print(f"  default -> {current.default or 'the server backend'}")
            print(f"\n{'id':>5}  {'when (UTC)':19}  {'action':8}  by")
            for r in history:
                print(f"{r.id:>5}  {r.created_at:%Y-%m-%d %H:%M:%S}  {r.action:8}  {r.created_by}")
    finally:
        store.close()
    return 0


__all__ = ["add_flags_arguments", "add_validate_arguments", "flags_main"]
