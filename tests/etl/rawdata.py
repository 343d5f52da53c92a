"""Hand-built raw worlds for ETL tests, written as raw directories; their expected numbers
come from the exact truth of tests/truth.py, independent of the ETL under test."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from keyart.etl.schemas import RAW_TABLES
from tests.truth import Truth

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def at(day: int, hour: float = 0.0) -> datetime:
    """A UTC instant `day` days and `hour` hours after T0."""
    return T0 + timedelta(days=day, hours=hour)


@dataclass
class Raw:
    """Rows of the five raw tables, as dicts keyed by contract column."""

    titles: list[dict[str, Any]] = field(default_factory=list)
    assets: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    impressions: list[dict[str, Any]] = field(default_factory=list)
    playbacks: list[dict[str, Any]] = field(default_factory=list)

    def title(self, title_id: str, kind: str = "series", **kw: Any) -> None:
        row = {"title_id": title_id, "name": f"T {title_id}", "kind": kind, "genres": ["drama"]}
        self.titles.append({**row, "launch_date": date(2025, 1, 1), **kw})

    def asset(self, asset_id: str, title_id: str, asset_type: str = "artwork", **kw: Any) -> None:
        row = {"asset_id": asset_id, "title_id": title_id, "asset_type": asset_type}
        self.assets.append({**row, "name": asset_id, "tags": [], "media_url": None, **kw})

    def member(self, member_id: int | None, country: str | None = "US", labels: Any = ()) -> None:
        self.members.append(
            {"member_id": member_id, "country": country, "affinities": list(labels)}
        )

    def imp(
        self,
        member_id: int | None,
        asset_id: str | None,
        when: datetime | None,
        country: str | None = "US",
        impression_id: str | None = "auto",
    ) -> None:
        if impression_id == "auto":
            impression_id = f"i{len(self.impressions)}"
        self.impressions.append(
            {
                "impression_id": impression_id,
                "event_time": when,
                "member_id": member_id,
                "asset_id": asset_id,
                "country": country,
            }
        )

    def play(
        self,
        member_id: int | None,
        title_id: str | None,
        when: datetime | None,
        duration_s: int | None = 600,
        asset_id: str | None = None,
        playback_id: str | None = "auto",
    ) -> None:
        if playback_id == "auto":
            playback_id = f"p{len(self.playbacks)}"
        self.playbacks.append(
            {
                "playback_id": playback_id,
                "event_time": when,
                "member_id": member_id,
                "title_id": title_id,
                "asset_id": asset_id,
                "duration_s": duration_s,
            }
        )

    def tables(self, schemas: dict[str, pa.Schema] | None = None) -> dict[str, pa.Table]:
        """Every table as Arrow (contract schemas by default)."""
        out = {}
        for name, schema in {**RAW_TABLES, **(schemas or {})}.items():
            rows = getattr(self, name)
            out[name] = pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()
        return out

    def write(self, root: Path, schemas: dict[str, pa.Schema] | None = None) -> Path:
        """Write every table as `<root>/<table>.parquet` (contract schemas by default)."""
        root.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables(schemas).items():
            pq.write_table(table, root / f"{name}.parquet")
        return root

    def truth(self) -> Truth:
        """The exact truth of these tables, cleaned and attributed by tests/truth.py."""
        return Truth.from_raw(self.tables())


def split(raw: Raw, days: set[int]) -> Raw:
    """The same world keeping only events on the given day offsets (from T0)."""
    keep = {at(d).date() for d in days}
    out = Raw(raw.titles, raw.assets, raw.members)
    out.impressions = [i for i in raw.impressions if i["event_time"].date() in keep]
    out.playbacks = [p for p in raw.playbacks if p["event_time"].date() in keep]
    return out


def random_world(seed: int, days: int = 3, n_imps: int = 500, n_plays: int = 200) -> Raw:
    """A valid, duplicate-free random world with overlapping impressions and plays."""
    rng = random.Random(seed)
    raw = Raw()
    labels = ["Drama fans", "Pop culture", "Sci-fi", "Docs"]
    for t in range(3):
        raw.title(f"t{t}")
        for a in range(3):
            raw.asset(f"t{t}a{a}", f"t{t}", "video" if a == 2 else "artwork")
    for m in range(1, 41):
        if m % 10 != 0:  # every 10th member has no profile
            raw.member(m, "US", rng.sample(labels, rng.randint(0, 3)))
    assets = [a["asset_id"] for a in raw.assets]
    for _ in range(n_imps):
        when = at(rng.randrange(days), rng.randrange(0, 24 * 60) / 60)
        raw.imp(rng.randint(1, 40), rng.choice(assets), when, rng.choice(["US", "FR", "BR"]))
    for _ in range(n_plays):
        when = at(rng.randrange(days), rng.randrange(0, 24 * 60) / 60)
        title = f"t{rng.randrange(3)}"
        explicit = f"{title}a{rng.randrange(3)}" if rng.random() < 0.4 else None
        duration = rng.choice([30, 119, 120, 500, 899, 900, 3000])
        raw.play(rng.randint(1, 40), title, when, duration, explicit)
    return raw
