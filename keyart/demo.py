"""`keyart demo`: generate the demo data, ingest it, and serve GraphiQL with an example query."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from keyart.config import ApiSettings, EtlSettings
from keyart.store.consumer import SnapshotConsumer
from keyart.store.model import DataRange
from keyart.warehouse.layout import Warehouse
from keyart.web.example import example_query

RAW_MARKER = "generated.json"
WAREHOUSE_MARKER = "ingested.json"


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def ensure_raw(data: Path, profile: str, seed: int) -> Path:
    """The raw directory of `profile`/`seed`, generated (printing the report) unless it
    already is."""
    from keyart.etl.generator import generate, render_summary

    raw = data / "raw"
    marker = data / RAW_MARKER
    wanted = {"profile": profile, "seed": seed}
    if raw.is_dir() and _read_marker(marker) == wanted:
        print(f"raw data for profile {profile} (seed {seed}) already in {raw}")
        return raw
    print(f"generating profile {profile} (seed {seed}) into {raw} …", flush=True)
    data.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    summary = generate(profile, raw, seed=seed, progress=True)
    print(render_summary(summary, raw), flush=True)
    marker.write_text(json.dumps(wanted))
    return raw


def ensure_warehouse(data: Path, raw: Path, warehouse: Path | None = None) -> Path:
    """The warehouse (default `data`/warehouse) built from `raw`, ingested (printing the
    report) unless its current version already is."""
    from keyart.etl.embedded import ingest

    wh = warehouse if warehouse is not None else data / "warehouse"
    marker = data / WAREHOUSE_MARKER
    source = _read_marker(data / RAW_MARKER)
    current = Warehouse(wh).current_or_none()
    seen = _read_marker(marker)
    if (
        current is not None
        and seen is not None
        and seen.get("raw") == source
        and seen.get("version") == current.name
        and any((wh / "snapshots").glob("*"))
    ):
        print(f"warehouse {wh} is current (version {current.name})")
        return wh
    print(f"ingesting {raw} into {wh} …", flush=True)
    report = ingest(raw, wh, EtlSettings(), progress=True, publish_snapshot=True)
    print(report.render(), flush=True)
    version = Warehouse(wh).current()
    marker.write_text(json.dumps({"raw": source, "version": version.name}))
    return wh


def main(args: argparse.Namespace) -> int:
    """Check the port, generate (if needed), ingest (if needed), print how to try it, serve."""
    from keyart.server import check_port_free, serve

    # a busy port is reported before minutes of work and before "open GraphiQL"
    check_port_free(args.host, args.port)
    data = Path(args.data)
    raw = ensure_raw(data, args.profile, args.seed)
    wh = ensure_warehouse(data, raw, Path(getattr(args, "warehouse", data / "warehouse")))
    settings = replace(
        ApiSettings.from_env(), warehouse=wh, host=args.host, port=args.port, allow_anonymous=True
    )
    snapshot = SnapshotConsumer(settings.snapshots).load()
    url = f"http://{args.host}:{args.port}/graphql"
    print()
    print(f"keyart is serving {len(snapshot.titles)} titles, {len(snapshot.assets)} assets")
    print("anonymous read access is on: no API key needed (keyart serve requires keys)")
    print(f"open the dashboard at http://{args.host}:{args.port}/")
    print(f"open GraphiQL at {url} (it opens on this query; press ▶) or POST it there:")
    print()
    print(example_query(DataRange.of(snapshot)))
    again = "keyart serve --allow-anonymous" + (
        "" if wh == ApiSettings().warehouse else f" --warehouse {wh}"
    )
    print(f"later, `{again}` serves this data again")
    print("(put `keyart` on PATH first: `. .venv/bin/activate`)")
    print(flush=True)
    serve(settings)
    return 0


__all__ = ["ensure_raw", "ensure_warehouse", "main"]
