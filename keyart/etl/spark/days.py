"""The daily rollups and clean event tables of the Spark engine, built in Spark's Python
workers by the embedded engine's numpy builder.

The facts are cached partitioned by day (`Cleaner.facts`, narrow: no label list, title or
asset type per row); `mapInArrow` hands each task its partition's rows as Arrow batches.
Each member's label set and each asset's title and type are looked up in two files written
once per run, the profiles and the staged asset dimension (`Lookups`, read once per Python
worker), so they cross the JVM–Python boundary once instead of once per row. The task
splits the rows by day, numbers the day's assets, titles, countries and members the way
the embedded engine numbers a run's (`keyart.etl.embedded.coding`: assets and titles by
id, members by (label set, member id)), and runs `RollupBuilder` on them: the same rows
and byte-identical compact HLL_4 sketches as the embedded engine, without a sketch object
per group, a shuffle or a sort in the JVM.
The task writes each day's files into the staged version itself (every executor sees the
warehouse, as the scratch files of the SQL path already require) and returns only the rows
written per table and day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from keyart.errors import IngestError
from keyart.etl.embedded.duck import COUNTRIES
from keyart.etl.embedded.rollups import Coding, DayFacts, RollupBuilder
from keyart.etl.embedded.write import write_parquet
from keyart.etl.spark.coupons import coupon_table
from keyart.warehouse.layout import Version, day_partition
from keyart.warehouse.tables import ROLLUPS

I64 = npt.NDArray[np.int64]
_EPOCH = date(1970, 1, 1)
# what each task returns: rows written per table and day
WRITTEN_SCHEMA = "name STRING, day DATE, rows BIGINT"
_WRITTEN = pa.schema([("name", pa.string()), ("day", pa.date32()), ("rows", pa.int64())])
# label sets are ordered as lists (element by element): joined with a separator below every
# character a label holds, byte order of the joined text is that order
_SET_SEPARATOR = "\x00"
# the columns of the facts the day tasks read (`narrow_facts_sql`)
NARROW_COLUMNS = (
    "day",
    "event_time",
    "member_id",
    "asset_id",
    "country",
    "is_imp",
    "duration_s",
    "engaged",
)


def narrow_facts_sql(imps: str = "imp_clean", plays: str = "play_facts") -> str:
    """Spark SQL: one row per clean impression or attributed play with only what the day
    tasks cannot look up (an impression's duration_s is 0 and engaged false)."""
    return (
        "SELECT CAST(event_time AS DATE) AS day, event_time, member_id, asset_id, country,"
        " true AS is_imp, CAST(0 AS BIGINT) AS duration_s, false AS engaged"
        f" FROM {imps} UNION ALL SELECT CAST(event_time AS DATE) AS day, event_time,"
        " member_id, asset_id, country, false AS is_imp, duration_s, engaged"
        f" FROM {plays}"
    )


@dataclass(frozen=True, slots=True)
class DayTargets:
    """Where a task writes (plain strings and ints: it is pickled to the Python workers)."""

    lg_k: int
    rollup_dirs: dict[str, str]  # rollup name -> folder of its day partitions
    event_dirs: dict[str, str]  # "impressions" / "plays" -> folder of its day partitions
    assets: str  # Parquet file with asset_id, title_id, asset_type: the staged asset dimension
    profiles: str  # Parquet file or folder: member_id, labels (sorted, distinct)

    @classmethod
    def of(cls, version: Version, lg_k: int, assets: Path, profiles: Path) -> DayTargets:
        """The folders of a staged version and the run's lookup files."""
        return cls(
            int(lg_k),
            {r.name: str(version.rollup_dir(r)) for r in ROLLUPS},
            {n: str(version.events_dir(n)) for n in ("impressions", "plays")},
            str(assets),
            str(profiles),
        )


@dataclass(frozen=True, slots=True)
class Lookups:
    """What the facts leave out: each asset's title and type, each member's label set."""

    asset_ids: pa.Array  # ascending
    title_of: pa.Array  # title_id per entry of asset_ids
    type_of: pa.Array  # asset_type per entry of asset_ids
    member_ids: I64  # members with a profile, ascending
    label_sets: pa.ListArray  # per entry of member_ids, then one empty set (no profile)
    set_keys: pa.Array  # label_sets joined into one comparable string each

    @classmethod
    def read(cls, assets: str, profiles: str) -> Lookups:
        """Read the lookup files written for the run."""
        dims = pq.read_table(assets, columns=["asset_id", "title_id", "asset_type"])
        dims = dims.take(pc.sort_indices(dims.column("asset_id")))
        people = pq.read_table(profiles, columns=["member_id", "labels"])
        ids = _ints(people.column("member_id"))
        order = np.argsort(ids, kind="stable")
        if len(ids) > 1 and bool((np.diff(ids[order]) == 0).any()):
            raise IngestError("a member has two profiles in the run's lookup file")
        sets = people.column("labels").combine_chunks()
        if not isinstance(sets, pa.ListArray):
            sets = sets.cast(pa.list_(pa.string()))
        sets = pa.concat_arrays([sets.take(pa.array(order)), pa.array([[]], sets.type)])
        return cls(
            asset_ids=dims.column("asset_id").combine_chunks(),
            title_of=dims.column("title_id").combine_chunks(),
            type_of=dims.column("asset_type").combine_chunks(),
            member_ids=ids[order],
            label_sets=sets,
            set_keys=pc.binary_join(sets, _SET_SEPARATOR),
        )

    def sets(self, members: I64) -> tuple[pa.ListArray, pa.Array]:
        """The label set of each member (empty without a profile) and its key."""
        pos = np.searchsorted(self.member_ids, members)
        inside = pos < len(self.member_ids)
        found = np.zeros(len(members), dtype=bool)
        found[inside] = self.member_ids[pos[inside]] == members[inside]
        at = pa.array(np.where(found, pos, len(self.member_ids)))
        return self.label_sets.take(at), self.set_keys.take(at)


@lru_cache(maxsize=1)
def _lookups(assets: str, profiles: str) -> Lookups:
    # a Python worker serves many tasks of a run: the files are read once per worker
    return Lookups.read(assets, profiles)


def _ints(values: pa.Array | pa.ChunkedArray) -> I64:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)


def _codes(values: pa.Array, dictionary: pa.Array, what: str) -> I64:
    """The position of each value in `dictionary` (every value must be there)."""
    index = pc.index_in(values, value_set=dictionary)
    if index.null_count:
        raise IngestError(f"a fact has a {what} outside the run's {what}s")
    return _ints(index)


def _sorted_unique(values: pa.Array) -> pa.Array:
    unique = pc.unique(values)
    return unique.take(pc.sort_indices(unique))


def day_coding(rows: pa.Table, lookups: Lookups) -> tuple[Coding, DayFacts]:
    """The Coding of one day's facts (rows of `narrow_facts_sql`) and the day's coded
    facts."""
    asset_id = rows.column("asset_id").combine_chunks()
    asset_ids = _sorted_unique(asset_id)
    asset_no = _codes(asset_id, asset_ids, "asset")
    at_dims = pa.array(_codes(asset_ids, lookups.asset_ids, "asset"))
    title_of = lookups.title_of.take(at_dims)
    type_of = lookups.type_of.take(at_dims)
    title_ids, asset_types = _sorted_unique(title_of), _sorted_unique(type_of)

    member = _ints(rows.column("member_id"))
    distinct, member_of_row = np.unique(member, return_inverse=True)
    sets, keys = lookups.sets(distinct)
    set_keys = _sorted_unique(keys)
    set_of = _codes(keys, set_keys, "label set")
    order = np.lexsort((distinct, set_of))  # (label set, member id), as the embedded engine
    member_no = np.empty(len(distinct), dtype=np.int64)
    member_no[order] = np.arange(len(distinct))
    member_ids = distinct[order]
    member_set = set_of[order]
    # one representative member per label set, in set order
    _, set_first = np.unique(member_set, return_index=True)
    set_lists = sets.take(pa.array(order[set_first]))
    flat = set_lists.flatten()
    labels = _sorted_unique(flat)
    coupons = coupon_table(member_ids)
    offsets = _ints(set_lists.offsets)
    coding = Coding(
        asset_ids=asset_ids,
        asset_title=_codes(title_of, title_ids, "title"),
        title_ids=title_ids,
        asset_kind=_codes(type_of, asset_types, "asset type"),
        asset_types=asset_types,
        countries=COUNTRIES,
        labels=labels,
        member_ids=member_ids,
        coupons=coupons.column("coupon").to_numpy(),
        clash=coupons.column("clash").to_numpy(zero_copy_only=False),
        member_set=member_set,
        set_offsets=offsets - offsets[0],
        set_labels=_codes(flat, labels, "label"),
    )
    return coding, _facts(rows, asset_no, member_no[member_of_row])


def _facts(rows: pa.Table, asset: I64, member: I64) -> DayFacts:
    """The coded facts of one day, impressions and plays apart."""
    day = _ints(rows.column("day").cast(pa.int32()))
    imp = np.asarray(rows.column("is_imp").to_numpy(zero_copy_only=False), dtype=bool)
    play = ~imp
    time = _ints(rows.column("event_time").cast(pa.timestamp("us", "UTC")).cast(pa.int64()))
    country = _codes(rows.column("country").combine_chunks(), COUNTRIES, "country")
    seconds = _ints(rows.column("duration_s"))
    engaged = np.asarray(rows.column("engaged").to_numpy(zero_copy_only=False), dtype=np.int64)
    return DayFacts(
        day=int(day[0]),
        imp_time=time[imp],
        imp_asset=asset[imp],
        imp_country=country[imp],
        imp_member=member[imp],
        play_time=time[play],
        play_asset=asset[play],
        play_country=country[play],
        play_member=member[play],
        play_seconds=seconds[play],
        play_engaged=engaged[play],
    )


def write_day(rows: pa.Table, targets: DayTargets) -> dict[str, int]:
    """Build and write one day's rollups and event tables; rows written per table."""
    coding, facts = day_coding(rows, _lookups(targets.assets, targets.profiles))
    builder = RollupBuilder(coding, targets.lg_k)
    part = day_partition(_EPOCH + timedelta(days=facts.day))
    written: dict[str, int] = {}
    tables, _ = builder.build(facts)
    for name, table in tables.items():
        write_parquet(table, Path(targets.rollup_dirs[name]) / part / "part.parquet")
        written[name] = table.num_rows
    for name, table in builder.events(facts).items():
        write_parquet(table, Path(targets.event_dirs[name]) / part / "part.parquet")
        written[f"events_{name}"] = table.num_rows
    return written


def partition_writer(
    targets: DayTargets,
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The `mapInArrow` function: writes the days of one partition (each day wholly in it)
    and yields the rows written per table and day."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        received = list(batches)  # an empty partition (fewer days than parts) has none
        if not received:
            return
        table = pa.Table.from_batches(received)
        if table.num_rows == 0:
            return
        day = _ints(table.column("day").cast(pa.int32()))
        order = np.argsort(day, kind="stable")
        day = day[order]
        table = table.take(pa.array(order))
        starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
        ends = np.r_[starts[1:], len(day)]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            written = write_day(table.slice(start, end - start), targets)
            when = _EPOCH + timedelta(days=int(day[start]))
            yield pa.RecordBatch.from_pydict(
                {
                    "name": list(written),
                    "day": [when] * len(written),
                    "rows": list(written.values()),
                },
                schema=_WRITTEN,
            )

    return run


__all__ = [
    "NARROW_COLUMNS",
    "WRITTEN_SCHEMA",
    "DayTargets",
    "Lookups",
    "day_coding",
    "narrow_facts_sql",
    "partition_writer",
    "write_day",
]
