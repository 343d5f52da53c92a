"""`make bench`: run the benchmark suites in order and collect their results in bench/results/.

python -m bench                       # every suite
python -m bench --only query,http     # some suites
python -m bench --only query -- --profile demo   # arguments after -- go to each suite
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

SUITES = (
    "ingest",
    "query",
    "serving",
    "ready",
    "store",
    "http",
    "execution",
    "throughput",
    "access",
    "abuse",
    "filtering",
    "insights",
    "rollout",
    "alerts",
    "dashboard",
    "spark",
    "druid",
)


def main(argv: list[str] | None = None) -> int:
    """Run the selected suites; each writes bench/results/<suite>.json and .md."""
    args = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, passthrough = args[:cut], args[cut + 1 :]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(SUITES), help="comma-separated suites")
    opts = parser.parse_args(args)
    failed: list[str] = []
    for suite in [s.strip() for s in opts.only.split(",") if s.strip()]:
        if suite not in SUITES:
            parser.error(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
        started = time.perf_counter()
        print(f"== bench {suite}", flush=True)
        try:
            importlib.import_module(f"bench.{suite}").main(passthrough)
        except Exception as exc:  # one broken suite must not hide the others' figures
            failed.append(suite)
            print(f"== bench {suite} failed: {exc!r}", file=sys.stderr, flush=True)
        print(f"== bench {suite} took {time.perf_counter() - started:.1f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
