"""`keyart demo`: generate the demo data, ingest it, and serve GraphiQL with an example query."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from keyart.config import ApiSettings, EtlSettings
from keyart.store.consumer import SnapshotConsumer
from keyart.store.model import Snapshot
from keyart.warehouse.layout import Warehouse

RAW_MARKER = "generated.json"
WAREHOUSE_MARKER = "ingested.json"

EXAMPLE_QUERY = """query TitlePage {{
  title(id: "{title}") {{
    name kind
    assets {{
      id type name
      allTime {{ impressions uniqueImpressions {{ value }} takeRate {{ value }} }}
      metrics(window: {{start: "{start}", end: "{end}"}}) {{
        impressions qualifiedPlays authenticity
        uniqueImpressions {{ value lower upper }}
        takeRate {{ value lower upper }}
      }}
      byAffinity(window: {{start: "{start}", end: "{end}"}}, top: 3) {{
        affinity lift metrics {{ uniqueImpressions {{ value }} takeRate {{ value }} }}
      }}
    }}
  }}
}}"""


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def ensure_raw(data: Path, profile: str, seed: int) -> Path:
    """The raw directory of `profile`/`seed`, generated unless it already is."""
    from keyart.etl.generate import generate

    raw = data / "raw"
    marker = data / RAW_MARKER
    wanted = {"profile": profile, "seed": seed}
    if raw.is_dir() and _read_marker(marker) == wanted:
        print(f"raw data for profile {profile} (seed {seed}) already in {raw}")
        return raw
    print(f"generating profile {profile} (seed {seed}) into {raw} …")
    data.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    generate(profile, raw, seed=seed, progress=True)
    marker.write_text(json.dumps(wanted))
    return raw


def ensure_warehouse(data: Path, raw: Path) -> Path:
    """The warehouse built from `raw`, ingested unless its current version already is."""
    from keyart.etl.ingest import ingest

    wh = data / "warehouse"
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
    print(f"ingesting {raw} into {wh} …")
    ingest(raw, wh, EtlSettings(), progress=True, publish_snapshot=True)
    version = Warehouse(wh).current()
    marker.write_text(json.dumps({"raw": source, "version": version.name}))
    return wh


def example(snapshot: Snapshot, last_day: date) -> str:
    """A title-page query for the busiest title over the last 30 days of data."""
    title = max(
        snapshot.titles,
        key=lambda t: (
            snapshot.title_alltime[t].impressions if t in snapshot.title_alltime else 0,
            t,
        ),
    )
    start = last_day - timedelta(days=29)
    return EXAMPLE_QUERY.format(title=title, start=start.isoformat(), end=last_day.isoformat())


def main(args: argparse.Namespace) -> int:
    """Generate (if needed), ingest (if needed), print how to try it, and serve."""
    from keyart.server import serve

    data = Path(args.data)
    raw = ensure_raw(data, args.profile, args.seed)
    wh = ensure_warehouse(data, raw)
    settings = replace(
        ApiSettings.from_env(), warehouse=wh, host=args.host, port=args.port, allow_anonymous=True
    )
    snapshot = SnapshotConsumer(settings.snapshots).load()
    days = Warehouse(wh).current().days
    url = f"http://{args.host}:{args.port}/graphql"
    print()
    print(f"keyart is serving {len(snapshot.titles)} titles, {len(snapshot.assets)} assets")
    print("anonymous read access is on: no API key needed (keyart serve requires keys)")
    print(f"open GraphiQL at {url} and try:")
    print()
    print(example(snapshot, days[-1] if days else date.today()))
    print()
    serve(settings)
    return 0


__all__ = ["ensure_raw", "ensure_warehouse", "example", "main"]
