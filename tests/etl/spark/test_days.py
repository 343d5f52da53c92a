"""The day tasks' lookups: each member's label set (empty without a profile) and each
asset's title and type, checked against plain dictionaries of the same rows."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from keyart.etl.spark.days import Lookups


def test_lookups_give_each_member_its_label_set_and_each_asset_its_title(
    tmp_path: Path,
) -> None:
    rng = random.Random(5)
    labels = ["Anime fans", "Drama fans", "Sports fans", "Zombie fans"]
    profiles = {
        rng.randrange(-(2**63), 2**63): sorted(rng.sample(labels, rng.randrange(0, 4)))
        for _ in range(500)
    }
    # written in two files, not in member order (as Spark's tasks write them)
    items = list(profiles.items())
    folder = tmp_path / "profiles"
    folder.mkdir()
    for part, rows in enumerate((items[:250], items[250:])):
        pq.write_table(
            pa.table(
                {
                    "member_id": pa.array([m for m, _ in rows], pa.int64()),
                    "labels": pa.array([s for _, s in rows], pa.list_(pa.string())),
                }
            ),
            folder / f"part-{part}.parquet",
        )
    assets = {f"a{n:03d}": (f"t{n % 7}", "trailer" if n % 2 else "poster") for n in range(40)}
    shuffled = sorted(assets, key=lambda _: rng.random())
    pq.write_table(
        pa.table(
            {
                "asset_id": shuffled,
                "title_id": [assets[a][0] for a in shuffled],
                "asset_type": [assets[a][1] for a in shuffled],
            }
        ),
        tmp_path / "assets.parquet",
    )
    lookups = Lookups.read(str(tmp_path / "assets.parquet"), str(folder))

    strangers = [rng.randrange(-(2**63), 2**63) for _ in range(50)]
    asked = np.array(sorted([*list(profiles)[::3], *strangers]), dtype=np.int64)
    sets, keys = lookups.sets(asked)
    expected = [profiles.get(int(m), []) for m in asked]
    assert sets.to_pylist() == expected
    # equal keys for equal sets, different keys for different sets
    by_key: dict[str, list[str]] = {}
    for key, labelled in zip(keys.to_pylist(), expected, strict=True):
        assert by_key.setdefault(key, labelled) == labelled
    assert len(by_key) == len({tuple(s) for s in expected})

    assert lookups.asset_ids.to_pylist() == sorted(assets)
    assert lookups.title_of.to_pylist() == [assets[a][0] for a in sorted(assets)]
    assert lookups.type_of.to_pylist() == [assets[a][1] for a in sorted(assets)]
