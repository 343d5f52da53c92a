"""The `keyart` command line: generate, ingest, publish, serve, druid, keys, state, alerts,
demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from keyart.cli_help import HelpFormatter as _Help
from keyart.cli_help import examples as _examples
from keyart.config import ApiSettings, EtlSettings, GateSettings
from keyart.errors import KeyartError, QualityGateError, WarehouseBusy
from keyart.sketches.params import MAX_LG_K, MIN_LG_K

# keyart.warehouse.lock.DEFAULT_WAIT_S (tested equal), not imported: it loads pyarrow
_WAIT_S = 300.0


def _parser() -> argparse.ArgumentParser:
    # the defaults flags show and use come from the settings classes
    etl, gates, api = EtlSettings(), GateSettings(), ApiSettings()
    parser = argparse.ArgumentParser(
        prog="keyart",
        description="Creative-insights analytics: generate raw events, ingest them into a "
        "sketch warehouse, and serve the GraphQL API.",
        formatter_class=_Help,
        epilog=_examples(
            "keyart demo                     # generate, ingest and serve the demo data",
            "keyart serve                    # serve .data/warehouse on 127.0.0.1:8000",
            "keyart <command> --help         # every flag of a command",
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser(
        "generate",
        help="write synthetic raw events (the raw input contract)",
        description="Write synthetic raw events (the five Parquet tables of docs/data.md), "
        "with planted effects and every kind of bad row the ingest must handle.",
        formatter_class=_Help,
        epilog=_examples("keyart generate --profile tiny --out .data/raw"),
    )
    gen.add_argument(
        "--profile",
        choices=["tiny", "demo", "bench"],
        default="tiny",
        help="dataset size: tiny (21 days, 20 titles), demo (90 days, 200 titles), "
        "bench (180 days, 1,000 titles)",
    )
    gen.add_argument("--out", type=Path, required=True, help="raw directory to write")
    gen.add_argument("--seed", type=int, default=7, help="random seed (output is deterministic)")
    gen.add_argument(
        "--scale", type=float, default=1.0, help="multiply event volume (bench: 1, 2, 4)"
    )

    ing = sub.add_parser(
        "ingest",
        help="validate raw events and build the sketch warehouse",
        description="Validate raw events, quarantine unusable rows, build daily HLL rollups "
        "and all-time sketches, publish a new warehouse version and snapshot, print a report.",
        formatter_class=_Help,
        epilog=_examples(
            "keyart ingest --raw .data/raw --warehouse .data/warehouse",
            "keyart ingest --raw .data/raw --warehouse .data/warehouse --engine spark",
        ),
    )
    ing.add_argument("--raw", type=Path, required=True, help="raw directory (Parquet tables)")
    ing.add_argument("--warehouse", type=Path, required=True, help="warehouse directory")
    ing.add_argument(
        "--engine",
        choices=["embedded", "spark"],
        default="embedded",
        help="ETL engine: embedded (DuckDB, in-process) or spark (Apache Spark; needs the "
        "spark extra and Java 17)",
    )
    ing.add_argument(
        "--spark-master",
        default="local[2]",
        help="Spark master URL for --engine spark: local[N], local-cluster[W,C,MB] (separate "
        "executor JVMs on this machine) or a cluster, e.g. spark://spark-master:7077",
    )
    ing.add_argument(
        "--spark-rollups",
        choices=["auto", "python", "sql"],
        default="auto",
        help="how --engine spark builds the daily rollups: python (the embedded engine's "
        "builder in Spark's Python workers, the all-time tables from the written day files; "
        "fastest, byte-identical, every worker needs keyart installed and the driver must read "
        "the warehouse they write), sql (Spark's DataSketches functions; workers need Spark "
        "only) or auto (python on local masters, sql on a cluster); default: auto",
    )
    ing.add_argument(
        "--lg-k",
        type=int,
        default=etl.lg_k,
        help=f"HLL sketch precision ({MIN_LG_K}..{MAX_LG_K})",
    )
    ing.add_argument(
        "--qualify-seconds",
        type=int,
        default=etl.qualify_seconds,
        help="a play counts as a qualified play when it lasts at least this long",
    )
    ing.add_argument(
        "--engaged-seconds",
        type=int,
        default=etl.engaged_seconds,
        help="a qualified play counts as an engaged play when it lasts at least this long",
    )
    ing.add_argument(
        "--attribution-hours",
        type=int,
        default=etl.attribution_hours,
        help="a qualified play goes to the member's most recent impression of the title "
        "within this many hours before the playback starts",
    )
    ing.add_argument("--no-snapshot", action="store_true", help="do not publish a snapshot")
    ing.add_argument(
        "--serving-layout",
        action=argparse.BooleanOptionalAction,
        default=etl.serving_layout,
        help="embedded engine: also write the version's serving layout, so that servers"
        " serve it at interactive latency as soon as it is published;"
        " --no-serving-layout leaves servers to build their own serving copy"
        " (docs/serving-layout.md)",
    )
    ing.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    ing.add_argument(
        "--max-without-profile-share",
        type=float,
        default=None,
        help="quality gate: refuse the run when more than this share of kept events have no "
        "member profile (0..1; env KEYART_MAX_WITHOUT_PROFILE_SHARE; "
        f"default: {gates.max_without_profile_share})",
    )
    ing.add_argument(
        "--min-day-volume-ratio",
        type=float,
        default=None,
        help="quality gate: refuse the run when a day's impressions fall below this share of "
        "the previous version's same day, else its median day (0..1; env "
        f"KEYART_MIN_DAY_VOLUME_RATIO; default: {gates.min_day_volume_ratio})",
    )
    ing.add_argument(
        "--accept-anomalies",
        action="store_true",
        help="publish even when a quality gate finds anomalies (they are listed in the "
        "report; default: refuse with exit code 65 and write nothing)",
    )
    ing.add_argument(
        "--wait",
        type=_seconds,
        default=_WAIT_S,
        help="seconds to wait for another run holding the warehouse's writer lock; 0 refuses "
        f"at once (exit code 75 when the lock stays taken; default: {_WAIT_S:g})",
    )

    pub = sub.add_parser(
        "publish",
        help="publish the snapshot of the warehouse's current version if it is not yet "
        "(heals a run killed between commit and snapshot; idempotent)",
        description="Publish the snapshot of the warehouse's current version unless it is "
        "already published: heals a run killed between its commit and its snapshot, and "
        "refuses a version whose files do not match its manifest.",
        formatter_class=_Help,
        epilog=_examples(
            "keyart publish --warehouse .data/warehouse",
            "keyart publish --warehouse .data/warehouse --verify --wait 0",
        ),
    )
    pub.add_argument("--warehouse", type=Path, required=True, help="warehouse directory")
    pub.add_argument(
        "--snapshot-dir",
        type=Path,
        default=None,
        help="snapshot blob directory (default: WAREHOUSE/snapshots)",
    )
    pub.add_argument(
        "--wait",
        type=_seconds,
        default=_WAIT_S,
        help="seconds to wait for a run holding the writer lock "
        f"(exit code 75 after; default: {_WAIT_S:g})",
    )
    pub.add_argument(
        "--verify",
        action="store_true",
        help="also re-hash every file of the version against its manifest (default: sizes only)",
    )

    srv = sub.add_parser(
        "serve",
        help="serve the GraphQL API (GraphiQL at /graphql)",
        description="Serve the GraphQL API (GraphiQL at /graphql in a browser), /healthz, "
        "/readyz and /metrics. Every setting can also come from a KEYART_* environment "
        "variable (README, Configuration); flags win over them. Without published data it "
        "stops at once with an error, unless --wait-for-data.",
        formatter_class=_Help,
        epilog=_examples(
            "keyart serve                                   # .data/warehouse, embedded backend",
            "keyart serve --warehouse WH --port 8010",
            "keyart serve --backend druid --druid-url http://127.0.0.1:8082",
            "keyart serve --wait-for-data --wait-timeout 600   # start before the first ingest",
        ),
    )
    _serve_args(srv, api)

    druid = sub.add_parser(
        "druid",
        help="Apache Druid operations",
        formatter_class=_Help,
        epilog=_examples("keyart druid ingest --warehouse .data/warehouse --druid URL"),
    )
    dsub = druid.add_subparsers(dest="druid_command", required=True, metavar="ACTION")
    din = dsub.add_parser(
        "ingest",
        help="load the warehouse rollups into Druid datasources",
        description="Load the current warehouse version's rollups into Druid (one "
        "index_parallel task per datasource, replacing its interval) and wait until a "
        "broker answers with the warehouse's totals.",
        formatter_class=_Help,
        epilog=_examples(
            "keyart druid ingest --warehouse .data/warehouse --druid http://127.0.0.1:8081",
            "keyart druid ingest --warehouse WH --druid http://router:8888",
        ),
    )
    din.add_argument("--warehouse", type=Path, required=True, help="warehouse directory")
    din.add_argument("--druid", required=True, help="overlord (coordinator-overlord) or router URL")
    din.add_argument(
        "--broker",
        default=None,
        help="broker URL that verifies the load (default: --druid when it answers queries, "
        "as a router does, else the broker its coordinator lists)",
    )
    din.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for tasks")
    din.add_argument(
        "--datasource-prefix", default="keyart_", help="prefix of the Druid datasource names"
    )

    keys = sub.add_parser(
        "keys",
        help="manage API keys (create, list, revoke)",
        formatter_class=_Help,
        epilog=_examples("keyart keys create --name partner-tool", "keyart keys list"),
    )
    from keyart.state.cli import add_arguments as keys_arguments

    keys_arguments(keys)
    state = sub.add_parser(
        "state",
        help="state store operations (upgrade)",
        formatter_class=_Help,
        epilog=_examples("keyart state upgrade --warehouse .data/warehouse"),
    )
    from keyart.state.cli import add_state_arguments

    add_state_arguments(state)
    alerts = sub.add_parser(
        "alerts",
        help="alert rules: evaluate a data version, list alerts",
        description="Notifications (docs/notifications.md): evaluate the alert rules on a "
        "data version by hand (what a cron or an orchestrator calls) and list alerts.",
        formatter_class=_Help,
        epilog=_examples(
            "keyart alerts evaluate --warehouse .data/warehouse",
            "keyart alerts list --warehouse .data/warehouse",
        ),
    )
    from keyart.alerts.cli import add_arguments as alerts_arguments

    alerts_arguments(alerts)

    from keyart.rollout.cli import add_flags_arguments, add_validate_arguments

    validate = sub.add_parser(
        "validate",
        help="compare two stacks' answers on chosen titles (exit 1 on disagreement)",
        description="Ask two stacks the same questions (asset and title metrics, breakdowns, "
        "series at each granularity) on recently active, busiest and edge-case titles and "
        "compare them: exact counts must be equal, estimates must agree within their sketch "
        "bounds (docs/rollout.md). Exit 0 when everything agrees, 1 otherwise.",
        formatter_class=_Help,
        epilog=_examples(
            "keyart validate --warehouse WH --backend embedded --against legacy",
            "keyart validate --warehouse WH --backend druid --druid-url http://127.0.0.1:8082 "
            "--against legacy --report validate.html",
        ),
    )
    add_validate_arguments(validate)
    flags = sub.add_parser(
        "flags",
        help="routing rules: which backend answers what (set, list, rollback)",
        formatter_class=_Help,
        epilog=_examples(
            "keyart flags list --warehouse WH",
            "keyart flags set rules.json --warehouse WH --by alice",
            "keyart flags rollback --warehouse WH --by alice",
        ),
    )
    add_flags_arguments(flags)

    demo = sub.add_parser(
        "demo",
        help="generate demo data, ingest it and serve GraphiQL",
        description="Generate the demo data (once), ingest it into a warehouse (once), print "
        "both reports and an example query, and serve GraphiQL. Afterwards `keyart serve` "
        "with no flags serves the same warehouse.",
        formatter_class=_Help,
        epilog=_examples("keyart demo", "keyart demo --port 8010 --profile tiny"),
    )
    demo.add_argument(
        "--data", type=Path, default=Path(".data/demo"), help="folder for the raw data"
    )
    demo.add_argument(
        "--warehouse",
        type=Path,
        default=Path(".data/warehouse"),
        help="warehouse to build (where `keyart serve` looks by default)",
    )
    demo.add_argument(
        "--profile",
        choices=["tiny", "demo", "bench"],
        default="demo",
        help="dataset size (see `keyart generate --help`)",
    )
    demo.add_argument("--host", default=api.host, help="bind address")
    demo.add_argument("--port", type=int, default=api.port, help="port to serve on")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the generated data")
    _help_everywhere(parser)
    return parser


def _seconds(text: str) -> float:
    """A non-negative number of seconds (argparse type)."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from exc
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def _help_everywhere(parser: argparse.ArgumentParser) -> None:
    """Give every (sub)command, including those other modules add, the same help format."""
    parser.formatter_class = _Help
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _help_everywhere(sub)


def _serve_args(srv: argparse.ArgumentParser, api: ApiSettings) -> None:
    # defaults are None here so that KEYART_* variables apply unless a flag is given
    srv.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help=f"warehouse directory (default: $KEYART_WAREHOUSE or {api.warehouse})",
    )
    srv.add_argument(
        "--host", default=None, help=f"bind address (default: $KEYART_HOST or {api.host})"
    )
    srv.add_argument(
        "--port", type=int, default=None, help=f"port (default: $KEYART_PORT or {api.port})"
    )
    srv.add_argument(
        "--backend",
        choices=["embedded", "druid", "legacy"],
        default=None,
        help="OLAP backend; legacy is exact COUNT DISTINCT over events, for benchmarks "
        f"(default: $KEYART_BACKEND or {api.backend})",
    )
    srv.add_argument(
        "--druid-url",
        default=None,
        help="Druid broker or router URL for --backend druid "
        f"(default: $KEYART_DRUID_URL or {api.druid_url})",
    )
    srv.add_argument(
        "--cache-url",
        default=None,
        help="redis://host:port/db for a result cache shared by servers "
        "(default: $KEYART_CACHE_URL, else an in-memory cache)",
    )
    srv.add_argument(
        "--snapshot-pin",
        default=None,
        help="serve this snapshot version only (default: $KEYART_SNAPSHOT_PIN, else the "
        "latest, followed as new ones are published)",
    )
    srv.add_argument(
        "--wait-for-data",
        action="store_true",
        default=None,
        help="when nothing is published yet, wait for the first ingest instead of failing "
        "(default: $KEYART_WAIT_FOR_DATA or off)",
    )
    srv.add_argument(
        "--wait-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --wait-for-data, fail after this long without data; 0 waits forever "
        f"(default: $KEYART_WAIT_FOR_DATA_TIMEOUT_S or {api.wait_for_data_timeout_s:g})",
    )
    srv.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_const",
        const=False,
        default=None,
        help="log no line per request (default: $KEYART_ACCESS_LOG or on)",
    )
    srv.add_argument(
        "--access-log-level",
        choices=["DEBUG", "INFO", "WARNING"],
        type=str.upper,
        default=None,
        help="level of the per-request lines on logger keyart.access "
        f"(default: $KEYART_ACCESS_LOG_LEVEL or {api.access_log_level})",
    )
    srv.add_argument(
        "--state-url",
        default=None,
        help="postgresql://… state store (default: KEYART_STATE_URL, else WH/state.sqlite3)",
    )
    srv.add_argument(
        "--allow-anonymous",
        action="store_true",
        default=None,
        help="let requests without an API key read (default: off; KEYART_ALLOW_ANONYMOUS)",
    )
    srv.add_argument(
        "--rate-limit",
        default=None,
        help="requests per API key (per address when anonymous), e.g. 20/second;600/minute, "
        f"or off (default {api.rate_limit}; KEYART_RATE_LIMIT)",
    )
    srv.add_argument(
        "--no-introspection",
        dest="introspection",
        action="store_false",
        default=None,
        help="refuse schema introspection (default: allowed; KEYART_INTROSPECTION)",
    )
    srv.add_argument(
        "--no-graphiql",
        dest="graphiql",
        action="store_false",
        default=None,
        help="do not serve GraphiQL at /graphql (default: served; KEYART_GRAPHIQL)",
    )
    srv.add_argument(
        "--no-persisted-queries",
        dest="persisted_queries",
        action="store_false",
        default=None,
        help="turn off automatic persisted queries (default: on; KEYART_PERSISTED_QUERIES)",
    )
    srv.add_argument(
        "--safelist",
        type=Path,
        default=None,
        help="Apollo persisted-query manifest: run only its operations (default: off; "
        "KEYART_SAFELIST)",
    )
    procs = srv.add_argument_group("parallelism (docs/performance.md: Workers)")
    procs.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes sharing the port, each with its own event loop "
        f"(default {api.workers}, KEYART_WORKERS)",
    )
    procs.add_argument(
        "--backend-threads",
        type=int,
        default=None,
        help="threads per worker running backend queries off the event loop "
        f"(default {api.backend_threads}, KEYART_BACKEND_THREADS)",
    )
    limits = srv.add_argument_group("limits per request (README: Limits)")
    limits.add_argument(
        "--max-query-cost",
        type=int,
        default=None,
        help="refuse operations whose estimated cost (fields × list sizes) is higher "
        f"(QUERY_TOO_COSTLY; default {api.max_query_cost}, KEYART_MAX_QUERY_COST)",
    )
    limits.add_argument(
        "--execution-timeout",
        type=float,
        default=None,
        help="seconds an operation may run before its work is cancelled "
        f"(QUERY_TIMEOUT; default {api.execution_timeout_s:g}, KEYART_EXECUTION_TIMEOUT_S)",
    )
    limits.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        help="largest request body or GET query string "
        f"(HTTP 413 PAYLOAD_TOO_LARGE; default {api.max_body_bytes}, KEYART_MAX_BODY_BYTES)",
    )
    limits.add_argument(
        "--max-response-bytes",
        type=int,
        default=None,
        help="largest response body "
        f"(RESPONSE_TOO_LARGE; default {api.max_response_bytes}, KEYART_MAX_RESPONSE_BYTES)",
    )
    limits.add_argument(
        "--max-inflight",
        type=int,
        default=None,
        help="GraphQL requests executing at once "
        f"(default {api.max_inflight}, KEYART_MAX_INFLIGHT)",
    )
    limits.add_argument(
        "--max-queued",
        type=int,
        default=None,
        help="requests waiting for a slot, up to KEYART_QUEUE_TIMEOUT_S "
        f"(default {api.queue_timeout_s:g}) seconds; beyond: HTTP 503 OVERLOADED "
        f"(default {api.max_queued}, KEYART_MAX_QUEUED)",
    )


# exit status of the `keyart` command per error class (the nearest class in the error tree
# wins); every other keyart error exits 2, like a usage error
EXIT_CODES: dict[type[KeyartError], int] = {
    QualityGateError: 65,  # EX_DATAERR: the input data needs a look (or --accept-anomalies)
    WarehouseBusy: 75,  # EX_TEMPFAIL: retrying later may succeed
}
DEFAULT_EXIT_CODE = 2


def exit_code(exc: KeyartError) -> int:
    """The `keyart` command's exit status when `exc` ends it."""
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return DEFAULT_EXIT_CODE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `keyart` console script."""
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyartError as exc:
        print(f"keyart: error: {exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    # imports are local so that `keyart --help` stays fast and has no side effects
    if args.command == "generate":
        return _generate(args)
    if args.command == "ingest":
        return _ingest(args)
    if args.command == "publish":
        return _publish(args)
    if args.command == "serve":
        # not keyart.server: with --workers N this process only supervises
        from keyart.launch import serve

        serve(settings_from_args(args))
        return 0
    if args.command == "druid":
        return _druid_ingest(args)
    if args.command == "keys":
        from keyart.state.cli import main as keys_main

        return keys_main(args)
    if args.command == "state":
        from keyart.state.cli import state_main

        return state_main(args)
    if args.command == "validate":
        from keyart.rollout.validate import main as validate_main

        return validate_main(args)
    if args.command == "flags":
        from keyart.rollout.cli import flags_main

        return flags_main(args)
    if args.command == "alerts":
        from keyart.alerts.cli import main as alerts_main

        return alerts_main(args)
    if args.command == "demo":
        from keyart.demo import main as demo_main

        return demo_main(args)
    raise AssertionError(args.command)


def _generate(args: argparse.Namespace) -> int:
    """`keyart generate`: write the raw directory and print a short summary."""
    from keyart.etl.generator import generate, render_summary

    summary = generate(
        args.profile,
        args.out,
        seed=args.seed,
        scale=args.scale,
        progress=args.profile in ("demo", "bench"),
    )
    print(render_summary(summary, args.out))
    return 0


def _ingest(args: argparse.Namespace) -> int:
    """`keyart ingest`: run the chosen engine and print the report."""
    settings = EtlSettings(
        lg_k=args.lg_k,
        qualify_seconds=args.qualify_seconds,
        engaged_seconds=args.engaged_seconds,
        attribution_hours=args.attribution_hours,
        serving_layout=args.serving_layout,
    )
    gates = GateSettings.from_env().with_overrides(
        max_without_profile_share=args.max_without_profile_share,
        min_day_volume_ratio=args.min_day_volume_ratio,
        accept_anomalies=args.accept_anomalies or None,
    )
    if args.engine == "spark":
        from keyart.etl.spark import ingest_spark  # type: ignore[attr-defined,unused-ignore]

        report = ingest_spark(
            args.raw,
            args.warehouse,
            settings,
            master=args.spark_master,
            rollups=args.spark_rollups,
            progress=not args.no_progress,
            publish_snapshot=not args.no_snapshot,
            wait_s=args.wait,
            gates=gates,
        )
    else:
        from keyart.etl.embedded import ingest

        report = ingest(
            args.raw,
            args.warehouse,
            settings,
            progress=not args.no_progress,
            publish_snapshot=not args.no_snapshot,
            wait_s=args.wait,
            gates=gates,
        )
    print(report.render())
    return 0


def _publish(args: argparse.Namespace) -> int:
    """`keyart publish`: publish the current version's snapshot unless it already is."""
    from keyart.etl.publish import publish_current
    from keyart.warehouse import Warehouse

    name, published = publish_current(
        args.warehouse, wait_s=args.wait, blob_dir=args.snapshot_dir, checksums=args.verify
    )
    if published is None:
        target = args.snapshot_dir or Warehouse(args.warehouse).snapshots_dir
        print(f"snapshot in {target} already describes warehouse version {name}; nothing to do")
    else:
        print(f"published snapshot {published} of warehouse version {name}")
    return 0


def _druid_ingest(args: argparse.Namespace) -> int:
    """`keyart druid ingest`: load the rollups into Druid and print one line per datasource."""
    import asyncio
    import time

    from keyart.backends.druid.ingest import ingest_warehouse

    started = time.monotonic()
    reports = asyncio.run(
        ingest_warehouse(
            args.warehouse,
            args.druid,
            args.broker,
            timeout_s=args.timeout,
            datasource_prefix=args.datasource_prefix,
        )
    )
    for r in reports:
        print(
            f"{r.datasource}: {r.rows} rows, {r.impressions} impressions, "
            f"{r.qualified_plays} qualified plays over {r.interval} "
            f"(task {r.task_id}, {r.total_s:.1f}s)"
        )
    print(f"loaded {len(reports)} datasource(s) in {time.monotonic() - started:.1f}s")
    return 0


def settings_from_args(args: argparse.Namespace) -> ApiSettings:
    """ApiSettings from KEYART_* variables, overridden by `keyart serve` flags."""
    return ApiSettings.from_env().with_overrides(
        warehouse=getattr(args, "warehouse", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        backend=getattr(args, "backend", None),
        druid_url=getattr(args, "druid_url", None),
        cache_url=getattr(args, "cache_url", None),
        snapshot_pin=getattr(args, "snapshot_pin", None),
        wait_for_data=getattr(args, "wait_for_data", None),
        wait_for_data_timeout_s=getattr(args, "wait_timeout", None),
        access_log=getattr(args, "access_log", None),
        access_log_level=getattr(args, "access_log_level", None),
        state_url=getattr(args, "state_url", None),
        allow_anonymous=getattr(args, "allow_anonymous", None),
        rate_limit=getattr(args, "rate_limit", None),
        introspection=getattr(args, "introspection", None),
        graphiql=getattr(args, "graphiql", None),
        persisted_queries=getattr(args, "persisted_queries", None),
        safelist=getattr(args, "safelist", None),
        max_query_cost=getattr(args, "max_query_cost", None),
        execution_timeout_s=getattr(args, "execution_timeout", None),
        max_body_bytes=getattr(args, "max_body_bytes", None),
        max_response_bytes=getattr(args, "max_response_bytes", None),
        max_inflight=getattr(args, "max_inflight", None),
        max_queued=getattr(args, "max_queued", None),
        workers=getattr(args, "workers", None),
        backend_threads=getattr(args, "backend_threads", None),
    )


if __name__ == "__main__":
    raise SystemExit(main())
