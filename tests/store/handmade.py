"""A small warehouse version written by hand following keyart.warehouse.tables, with the
exact per-asset and per-title truth it was built from (member sets, counts, countries)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from keyart import sketches
from keyart.warehouse import tables
from keyart.warehouse.layout import Version, Warehouse

COUNTRIES = ("BR", "DE", "FR", "GB", "IN", "JP", "MX", "US")
AFFINITIES = ("Anime fans", "Character Drama fans", "Pop Culture enthusiasts", "True Crime")
NAMES = ("alpha", "Bravo", "charlie", "Delta", "echo", "Alpha", "bravo two", "Zulu")


@dataclass
class Truth:
    """Exact all-time facts of one asset or title."""

    impressions: int = 0
    qualified_plays: int = 0
    play_seconds: int = 0
    engaged_plays: int = 0
    imp_members: set[int] = field(default_factory=set)
    play_members: set[int] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    affinities: set[str] = field(default_factory=set)

    def absorb(self, other: Truth) -> None:
        """Add another group's facts (a title absorbs its assets)."""
        self.impressions += other.impressions
        self.qualified_plays += other.qualified_plays
        self.play_seconds += other.play_seconds
        self.engaged_plays += other.engaged_plays
        self.imp_members |= other.imp_members
        self.play_members |= other.play_members
        self.countries |= other.countries
        self.affinities |= other.affinities


@dataclass
class Handmade:
    """A committed warehouse version and the truth it encodes."""

    warehouse: Warehouse
    version: Version
    titles: dict[str, dict[str, object]]
    assets: dict[str, dict[str, object]]
    asset_truth: dict[str, Truth]
    title_truth: dict[str, Truth]


def build(
    root: Path,
    *,
    n_titles: int = 8,
    assets_per_title: int = 3,
    seed: int = 1,
    lg_k: int = 12,
    tag: str = "g0",
    silent_assets: int = 2,
) -> Handmade:
    """Write one warehouse version under `root`; the last `silent_assets` assets get no
    all-time row (no data). `tag` is put in every asset name to tell versions apart."""
    rng = random.Random(seed)
    ids = np.random.default_rng(seed)
    titles: dict[str, dict[str, object]] = {}
    assets: dict[str, dict[str, object]] = {}
    for t in range(n_titles):
        tid = f"t{t:03d}"
        titles[tid] = {
            "title_id": tid,
            "name": NAMES[t % len(NAMES)] + ("" if t < len(NAMES) else f" {t}"),
            "kind": ("series", "film", "live", "game")[t % 4],
            "genres": sorted(rng.sample(["drama", "comedy", "anime", "crime"], 2)),
            "launch_date": date(2024, 1, 1) + timedelta(days=t) if t % 3 else None,
        }
        for a in range(assets_per_title):
            # ids deliberately not in (type, id) order, to check the stable order
            aid = f"a{t:03d}-{assets_per_title - a}"
            assets[aid] = {
                "asset_id": aid,
                "title_id": tid,
                "asset_type": ("video", "artwork")[a % 2],
                "name": f"{tag} {aid} art",
                "tags": ["bold", "face"][: a % 3],
                "media_url": None if a % 2 else f"https://cdn.example/{aid}.jpg",
            }

    asset_truth: dict[str, Truth] = {}
    silent = set(list(assets)[len(assets) - silent_assets :]) if silent_assets else set()
    for aid in assets:
        if aid in silent:
            continue
        truth = Truth()
        n_members = rng.choice([0, 1, 5, 40, 300, 3000, 10000])
        members = ids.integers(1, 10**12, n_members).tolist()
        if members:
            truth.imp_members = set(members)
            truth.impressions = len(members) + rng.randrange(0, 50)
            truth.countries = set(rng.sample(COUNTRIES, rng.randint(1, 4)))
            truth.affinities = set(rng.sample(AFFINITIES, rng.randint(0, 3)))
            players = [m for m in truth.imp_members if rng.random() < 0.3]
            truth.play_members = set(players)
            truth.qualified_plays = len(players) + rng.randrange(0, 5) * bool(players)
            truth.engaged_plays = truth.qualified_plays // 3
            truth.play_seconds = truth.qualified_plays * 600 + rng.randrange(0, 1000)
        asset_truth[aid] = truth

    title_truth: dict[str, Truth] = {}
    for aid, truth in asset_truth.items():
        title_truth.setdefault(str(assets[aid]["title_id"]), Truth()).absorb(truth)

    warehouse = Warehouse(root)
    with warehouse.stage() as staging:
        view = staging.version_view()
        (view.root / "dims").mkdir()
        (view.root / "alltime").mkdir()
        pq.write_table(
            pa.Table.from_pylist(list(titles.values()), tables.TITLES), view.dim_path("titles")
        )
        pq.write_table(
            pa.Table.from_pylist(list(assets.values()), tables.ASSETS), view.dim_path("assets")
        )
        asset_rows = [
            {"asset_id": aid, "title_id": assets[aid]["title_id"], **_alltime_row(t, lg_k)}
            for aid, t in asset_truth.items()
        ]
        title_rows = [{"title_id": tid, **_alltime_row(t, lg_k)} for tid, t in title_truth.items()]
        pq.write_table(
            pa.Table.from_pylist(asset_rows, tables.ALLTIME_ASSETS), view.alltime_path("assets")
        )
        pq.write_table(
            pa.Table.from_pylist(title_rows, tables.ALLTIME_TITLES), view.alltime_path("titles")
        )
        version = staging.commit({"etl": {"lg_k": lg_k}, "days": ["2024-03-01"], "tag": tag})
    return Handmade(warehouse, version, titles, assets, asset_truth, title_truth)


def _alltime_row(truth: Truth, lg_k: int) -> dict[str, object]:
    return {
        "impressions": truth.impressions,
        "qualified_plays": truth.qualified_plays,
        "play_seconds": truth.play_seconds,
        "engaged_plays": truth.engaged_plays,
        "imp_sketch": sketches.build(truth.imp_members, lg_k) if truth.imp_members else None,
        "play_sketch": sketches.build(truth.play_members, lg_k) if truth.play_members else None,
        # unsorted, with a duplicate: the producer must sort and de-duplicate
        "countries": [*sorted(truth.countries, reverse=True), *sorted(truth.countries)[:1]],
        "affinities": sorted(truth.affinities, reverse=True),
        "first_day": date(2024, 3, 1),
        "last_day": date(2024, 3, 1),
    }
