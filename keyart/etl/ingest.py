"""`keyart ingest` on the embedded engine: validate raw Parquet, quarantine and dedupe with
the shared portable SQL rules, attribute plays, build daily sketch rollups, clean event
tables and all-time tables, and publish them as a new warehouse version (then a snapshot).

Re-ingesting a day replaces it; days of the parent version that the raw input does not
touch are hard-linked into the new version. Everything is written into a staging folder
that becomes visible only through `Staging.commit`, so a run killed at any point leaves the
previous version current.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from keyart.config import EtlSettings, GateSettings
from keyart.errors import IngestError
from keyart.etl import contract, rules
from keyart.etl.alltime import AlltimeTotals, build_alltime
from keyart.etl.attribution import attribution_sql
from keyart.etl.hll import coupon_table
from keyart.etl.layout_writer import embedded_layout
from keyart.etl.report import IngestReport
from keyart.etl.rollups import Coding, DayFacts, RollupBuilder
from keyart.etl.runs import (
    CONFLICT_EXAMPLES,
    Accounting,
    Attribution,
    Conflicts,
    IngestRun,
    RunCounts,
    link_parent_days,
    lookback_files,
    progress_bar,
    publish,
    writing,
)
from keyart.warehouse.layout import Staging, Version, Warehouse, day_partition
from keyart.warehouse.lock import DEFAULT_WAIT_S, WriterLock
from keyart.warehouse.tables import ASSETS, ROLLUPS, TITLES

EPOCH = date(1970, 1, 1)
BATCH_EVENTS = 4_000_000  # facts fetched from DuckDB at a time (whole days): bounds memory
WRITE_THREADS = 2  # Parquet files encoded in parallel (pyarrow releases the GIL)
WRITE_PENDING = 16  # tables queued for writing at most: bounds memory
HOLD_ENV = "KEYART_INGEST_HOLD"  # "<step>=<marker file>": pause there (tests only)
_STEPS = (
    "dims",
    "events",
    "attribute",
    "codes",
    "write days",
    "all-time",
    "serving layout",
    "commit",
)
# Written without the Arrow schema, dictionary-encoded string columns read back as strings.
_PARQUET: dict[str, Any] = {
    # lz4: about 30% less encoding CPU than zstd on the rollups, files about 35% larger
    "compression": "lz4",
    "store_schema": False,
    # dictionary pages and min/max statistics only where they pay: the key columns
    "use_dictionary": [
        "title_id",
        "asset_id",
        "asset_type",
        "country",
        "affinity",
        "affinities.list.element",
    ],
    "write_statistics": [
        "day",
        "title_id",
        "asset_id",
        "asset_type",
        "country",
        "affinity",
        "affinities.list.element",
    ],
}
# A valid country code is two letters A-Z: its number is a base-26 pair, in code order.
_COUNTRIES = pa.array([chr(65 + i // 26) + chr(65 + i % 26) for i in range(26 * 26)])
_COUNTRY_TYPE = "country_code"


def _country_no(column: str) -> str:
    # an ENUM cast is a dictionary lookup; NULL for anything but a valid code
    return f"enum_code(TRY_CAST({column} AS {_COUNTRY_TYPE}))::SMALLINT"


def _day_no(column: str) -> str:
    return f"date_diff('day', DATE '1970-01-01', CAST({column} AS DATE))::INTEGER"


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _holding(step: str) -> str | None:
    """The marker file when HOLD_ENV asks to pause at `step`."""
    name, _, marker = os.environ.get(HOLD_ENV, "").partition("=")
    return marker if name == step and marker else None


def _checkpoint(step: str, before: Callable[[], None] | None = None) -> None:
    """Pause at `step` when HOLD_ENV asks to (after `before` and writing the marker file)
    until the marker file is deleted (at most 600 s), so a test can kill the process at a
    known point or let it go on."""
    marker = _holding(step)
    if marker is not None:
        if before is not None:
            before()
        path = Path(marker)
        path.write_text(step)
        deadline = time.monotonic() + 600
        while path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def _write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **_PARQUET)


class _Writer:
    """Writes Parquet files on background threads while the caller builds the next ones;
    each file is hashed for the manifest right after it is written (still in the page
    cache, off the caller's path)."""

    def __init__(self, staging: Staging) -> None:
        self.staging = staging
        self.pool = ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="keyart-write")
        self.pending: deque[Future[None]] = deque()
        self.rows: dict[str, int] = {}

    def _write(self, table: pa.Table, path: Path) -> None:
        _write_parquet(table, path)
        self.staging.record_checksum(path)

    def submit(self, name: str, table: pa.Table, path: Path) -> None:
        self.rows[name] = self.rows.get(name, 0) + table.num_rows
        self.pending.append(self.pool.submit(self._write, table, path))
        while len(self.pending) > WRITE_PENDING:
            self.pending.popleft().result()

    def drain(self) -> None:
        while self.pending:
            self.pending.popleft().result()

    def close(self) -> None:
        try:
            self.drain()
        finally:
            self.pool.shutdown(cancel_futures=True)


class _Run(IngestRun):
    """The state of one embedded ingest run."""

    engine = "embedded"

    def __init__(
        self,
        raw: contract.RawInput,
        warehouse: Warehouse,
        settings: EtlSettings,
        bar: tqdm[Any] | None,
        *,
        list_mode: bool = True,
        writer: WriterLock | None = None,
    ) -> None:
        super().__init__(warehouse, settings, bar, "ingest", writer=writer)
        self.raw = raw
        self.list_mode = list_mode
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute(f"SET threads = {max(os.cpu_count() or 1, 1)}")
        self.con.execute("SET preserve_insertion_order = false")
        codes = ", ".join(f"'{c}'" for c in _COUNTRIES.to_pylist())
        self.con.execute(f"CREATE TYPE {_COUNTRY_TYPE} AS ENUM ({codes})")

    def q(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def scalar(self, sql: str) -> Any:
        return self.q(sql)[0][0]

    # -- classification ----------------------------------------------------------------

    def classify(self, name: str, joins: str = "", extra: str = "") -> None:
        """cls_<name>: every raw row with the contract columns, `reason` (NULL = kept) and
        the `extra` columns of the `joins`; the same outcome as the portable
        `rules.classify_sql`, but the duplicate ranking only looks at repeated ids."""
        table = self.raw.tables[name]
        source = f"read_parquet({_sql_list(list(table.files))}, union_by_name = true"
        carried: tuple[str, ...] = ()
        if name in rules.DIM_KEYS:
            # which row came last decides between repeated keys (rules.keep_order_sql)
            source += ", filename = '_keyart_file', file_row_number = true"
            carried = (
                f"_keyart_file AS {rules.SOURCE_FILE}",
                f"file_row_number AS {rules.SOURCE_ROW}",
            )
        source += ")"
        cols = ", ".join(
            f"_t.{c}" for c in rules.columns(name) + tuple(c.split()[-1] for c in carried)
        )
        try:
            self.con.execute(
                f"CREATE TABLE cls_{name} AS SELECT {cols}, {rules.reason_sql(name)} AS reason"
                f"{extra} FROM ({contract.cast_select_sql(table, source, carried)}) _t {joins}"
            )
        except duckdb.Error as exc:
            raise IngestError(f"{self.raw.root}: table {name!r} cannot be read: {exc}") from exc
        self._dedupe(name)

    def _dedupe(self, name: str) -> None:
        """Mark every valid row but the first of each repeated id/key as a duplicate.
        Repeats are rare: numpy finds the repeated hashes of the ids, and only rows with
        such a hash are ranked exactly."""
        key = rules.key_column(name)
        valid = f"reason IS NULL AND {key} IS NOT NULL"
        hashes = self.con.execute(f"SELECT hash({key}) AS h FROM cls_{name} WHERE {valid}")
        ordered = np.sort(hashes.fetchnumpy()["h"])
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        if not len(repeated):
            return
        self.con.register("_repeated", pa.table({"h": repeated}))
        self.con.execute(
            f"UPDATE cls_{name} SET reason = '{rules.duplicate_reason(name)}' WHERE rowid IN"
            f" (SELECT rid FROM (SELECT rowid AS rid, ROW_NUMBER() OVER (PARTITION BY {key}"
            f" ORDER BY {rules.keep_order_sql(name)}) AS rn FROM cls_{name}"
            f" WHERE {valid} AND hash({key}) IN (SELECT h FROM _repeated)) WHERE rn > 1)"
        )
        self.con.unregister("_repeated")

    def dims(self) -> None:
        parent = self.parent
        for name, ref, columns in (
            ("titles", "", "title_id, name, kind, coalesce(genres, []) AS genres, launch_date"),
            (
                "assets",
                "LEFT JOIN (SELECT DISTINCT title_id AS _ref_title_id FROM dim_titles) _r"
                " ON _t.title_id = _r._ref_title_id",
                "asset_id, title_id, asset_type, name, coalesce(tags, []) AS tags, media_url",
            ),
        ):
            self.classify(name, ref)
            key = rules.DIM_KEYS[name]
            old = ""
            if parent is not None and parent.dim_path(name).exists():
                path = str(parent.dim_path(name)).replace("'", "''")
                old = (
                    f" UNION ALL SELECT {columns} FROM read_parquet('{path}') WHERE {key} NOT IN"
                    f" (SELECT {key} FROM cls_{name} WHERE reason IS NULL)"
                )
            self.con.execute(
                f"CREATE TABLE dim_{name} AS SELECT {columns} FROM cls_{name}"
                f" WHERE reason IS NULL{old}"
            )
        # dense numbers in key order, so comparing numbers compares ids (attribution ties)
        self.con.execute(
            "CREATE TABLE title_codes AS SELECT"
            " (row_number() OVER (ORDER BY title_id) - 1)::INTEGER AS title_no, title_id"
            " FROM dim_titles"
        )
        self.con.execute(
            "CREATE TABLE asset_codes AS SELECT"
            " (row_number() OVER (ORDER BY a.asset_id) - 1)::INTEGER AS asset_no,"
            " a.asset_id, a.title_id, a.asset_type, t.title_no,"
            " (dense_rank() OVER (ORDER BY a.asset_type) - 1)::INTEGER AS type_no"
            " FROM dim_assets a JOIN title_codes t ON t.title_id = a.title_id"
        )
        self.classify("members")
        # a member's label set: distinct, sorted, without NULLs (list_distinct drops them)
        self.con.execute(
            "CREATE TABLE profiles AS SELECT member_id,"
            " list_sort(list_distinct(coalesce(affinities, []))) AS labels"
            " FROM cls_members WHERE reason IS NULL"
        )

    def classify_events(self) -> None:
        self.classify(
            "impressions",
            "LEFT JOIN (SELECT asset_id AS _ref_asset_id, asset_no FROM asset_codes) _r"
            " ON _t.asset_id = _r._ref_asset_id",
            f", _r.asset_no, {_country_no('_t.country')} AS country_no,"
            f" {_day_no('_t.event_time')} AS day_no",
        )
        # the play's own asset_id as a number too: an explicit asset is compared by number
        self.classify(
            "playbacks",
            "LEFT JOIN (SELECT title_id AS _ref_title_id, title_no FROM title_codes) _r"
            " ON _t.title_id = _r._ref_title_id"
            " LEFT JOIN (SELECT asset_id AS _own_asset_id, asset_no FROM asset_codes) _a"
            " ON _t.asset_id = _a._own_asset_id",
            f", _r.title_no, _a.asset_no, {_day_no('_t.event_time')} AS day_no",
        )

    def accounting(self) -> Accounting:
        kept: dict[str, int] = {}
        quarantined: dict[str, dict[str, int]] = {}
        duplicates: dict[str, int] = {}
        for name in self.raw.tables:
            counts = dict(self.q(f"SELECT reason, count(*) FROM cls_{name} GROUP BY 1"))
            kept[name] = int(counts.pop(None, 0))
            if name in rules.EVENT_IDS:
                duplicates[name] = int(counts.pop(rules.DUPLICATE, 0))
            quarantined[name] = {str(k): int(v) for k, v in sorted(counts.items())}
        return Accounting(kept, quarantined, duplicates, self.conflicts())

    def conflicts(self) -> dict[str, Conflicts]:
        """Dimension keys whose valid rows disagree in content, per table."""
        found = {}
        for name in rules.DIM_KEYS:
            rows = self.q(rules.conflict_sql(name, f"cls_{name}", CONFLICT_EXAMPLES))
            if rows:
                found[name] = Conflicts(int(rows[0][1]), [str(r[0]) for r in rows])
        return found

    def write_quarantined(self, table: str, path: Path) -> None:
        cols = ", ".join(contract.RAW_TABLES[table].names)
        target = str(path).replace("'", "''")
        self.con.execute(
            f"COPY (SELECT {cols}, reason FROM cls_{table} WHERE reason IS NOT NULL"
            f" AND reason <> '{rules.DUPLICATE}') TO '{target}' (FORMAT parquet)"
        )

    def new_days(self) -> list[date]:
        rows = self.q(
            "SELECT DISTINCT day_no FROM cls_impressions WHERE day_no IS NOT NULL"
            " UNION SELECT DISTINCT day_no FROM cls_playbacks WHERE day_no IS NOT NULL"
        )
        return sorted(EPOCH + timedelta(days=int(r[0])) for r in rows)

    # -- members, facts and attribution ------------------------------------------------

    def members(self) -> None:
        """member_codes: every member with a clean impression or qualified playback,
        numbered in (label set, member id) order (see keyart.etl.rollups)."""
        qualify = int(self.settings.qualify_seconds)
        self.con.execute(
            "CREATE TABLE member_codes AS SELECT"
            " (row_number() OVER (ORDER BY labels, member_id) - 1)::INTEGER AS member_no,"
            " (dense_rank() OVER (ORDER BY labels) - 1)::INTEGER AS set_no,"
            " member_id, labels, has_profile FROM (SELECT m.member_id,"
            " coalesce(p.labels, []::VARCHAR[]) AS labels, p.member_id IS NOT NULL AS has_profile"
            " FROM (SELECT member_id FROM cls_impressions WHERE reason IS NULL UNION"
            " SELECT member_id FROM cls_playbacks WHERE reason IS NULL"
            f" AND duration_s >= {qualify}) m LEFT JOIN profiles p ON p.member_id = m.member_id)"
        )
        self.con.execute(
            "CREATE TABLE imp AS SELECT i.day_no, i.event_time, i.member_id, m.member_no,"
            " i.asset_no, i.country_no FROM cls_impressions i"
            " JOIN member_codes m ON m.member_id = i.member_id WHERE i.reason IS NULL"
        )

    def attribute(self, new_days: list[date]) -> tuple[int, int]:
        """play: attributed qualified plays as codes; returns (qualified, attributed).
        Runs the portable attribution SQL over numbers in id order (same ties)."""
        qualify = int(self.settings.qualify_seconds)
        self.con.execute(
            "CREATE TABLE qplays AS SELECT rowid AS play_no, member_id, title_no AS title_id,"
            " asset_no AS asset_id, event_time, duration_s FROM cls_playbacks"
            f" WHERE reason IS NULL AND duration_s >= {qualify}"
        )
        # only impressions of a (member, title) with a qualified play can be picked
        wanted = "SEMI JOIN (SELECT DISTINCT member_id, title_id FROM qplays) _q ON"
        lookback = lookback_files(self.parent, self.settings, new_days)
        extra = ""
        if lookback:
            extra = (
                " UNION ALL SELECT e.member_id, t.title_no, a.asset_no,"
                f" {_country_no('e.country')}, CAST(e.event_time AS TIMESTAMP)"
                f" FROM read_parquet({_sql_list(lookback)}) e"
                " JOIN title_codes t ON t.title_id = e.title_id"
                " JOIN asset_codes a ON a.asset_id = e.asset_id"
                f" {wanted} _q.member_id = e.member_id AND _q.title_id = t.title_no"
            )
        self.con.execute(
            "CREATE TABLE attr_imps AS SELECT i.member_id, a.title_no AS title_id,"
            " i.asset_no AS asset_id, i.country_no AS country, i.event_time"
            " FROM imp i JOIN asset_codes a ON a.asset_no = i.asset_no"
            f" {wanted} _q.member_id = i.member_id AND _q.title_id = a.title_no{extra}"
        )
        sql = attribution_sql(
            "qplays",
            "attr_imps",
            self.settings,
            play_key=("play_no",),
            play_columns=("member_id", "title_id", "asset_id", "event_time", "duration_s"),
        )
        self.con.execute(f"CREATE TABLE play_attr AS {sql}")
        engaged = int(self.settings.engaged_seconds)
        self.con.execute(
            f"CREATE TABLE play AS SELECT {_day_no('p.event_time')} AS day_no, p.event_time,"
            " p.member_id, m.member_no, p.attr_asset_id AS asset_no,"
            " p.attr_country AS country_no, p.duration_s,"
            f" (p.duration_s >= {engaged})::INTEGER AS engaged FROM play_attr p"
            " JOIN member_codes m ON m.member_id = p.member_id"
            " WHERE p.attr_asset_id IS NOT NULL"
        )
        qualified = int(self.scalar("SELECT count(*) FROM play_attr"))
        attributed = int(self.scalar("SELECT count(*) FROM play"))
        return qualified, attributed

    def day_volumes(self) -> dict[date, int]:
        """Kept impressions per day of this run (what the volume gate compares)."""
        rows = self.q("SELECT day_no, count(*) FROM imp GROUP BY 1")
        return {EPOCH + timedelta(days=int(d)): int(n) for d, n in rows}

    def without_profile(self) -> dict[str, int]:
        return {
            "impressions": int(
                self.scalar(
                    "SELECT count(*) FROM imp WHERE member_no IN"
                    " (SELECT member_no FROM member_codes WHERE NOT has_profile)"
                )
            ),
            "playbacks": int(
                self.scalar(
                    "SELECT count(*) FROM cls_playbacks c WHERE c.reason IS NULL"
                    " AND c.member_id NOT IN (SELECT member_id FROM profiles)"
                )
            ),
        }

    # -- codes and daily output ----------------------------------------------------------

    def coding(self) -> Coding:
        con = self.con
        assets = con.sql(
            "SELECT asset_id, title_no, type_no FROM asset_codes ORDER BY asset_no"
        ).to_arrow_table()
        titles = con.sql("SELECT title_id FROM title_codes ORDER BY title_no").to_arrow_table()
        types = con.sql(
            "SELECT DISTINCT type_no, asset_type FROM asset_codes ORDER BY type_no"
        ).to_arrow_table()
        members = con.sql(
            "SELECT member_id, set_no FROM member_codes ORDER BY member_no"
        ).fetchnumpy()
        sets = con.sql(
            "SELECT any_value(labels) AS labels FROM member_codes GROUP BY set_no ORDER BY set_no"
        ).to_arrow_table()
        set_lists = sets.column("labels").combine_chunks()
        if not isinstance(set_lists, pa.ListArray):
            set_lists = set_lists.cast(pa.list_(pa.string()))
        flat = set_lists.flatten()
        labels = pc.unique(flat).sort()
        set_labels = pc.index_in(flat, value_set=labels).to_numpy(zero_copy_only=False)
        member_ids = np.asarray(members["member_id"], dtype=np.int64)
        coupons = coupon_table(member_ids, self.settings.lg_k)

        def ints(table: pa.Table, name: str) -> np.ndarray:
            return np.asarray(table.column(name).to_numpy(), dtype=np.int64)

        return Coding(
            asset_ids=assets.column("asset_id").combine_chunks(),
            asset_title=ints(assets, "title_no"),
            title_ids=titles.column("title_id").combine_chunks(),
            asset_kind=ints(assets, "type_no"),
            asset_types=types.column("asset_type").combine_chunks(),
            countries=_COUNTRIES,
            labels=labels,
            member_ids=member_ids,
            coupons=coupons.column("coupon").to_numpy(),
            clash=coupons.column("clash").to_numpy(zero_copy_only=False),
            member_set=np.asarray(members["set_no"], dtype=np.int64),
            set_offsets=np.asarray(set_lists.offsets.to_numpy(), dtype=np.int64)
            - int(set_lists.offsets[0].as_py()),
            set_labels=np.asarray(set_labels, dtype=np.int64),
        )

    def batches(self) -> list[tuple[int, int]]:
        """Consecutive day-number ranges holding about BATCH_EVENTS facts each."""
        per_day = self.q(
            "SELECT day_no, sum(n) FROM (SELECT day_no, count(*) AS n FROM imp GROUP BY 1"
            " UNION ALL SELECT day_no, count(*) FROM play GROUP BY 1) GROUP BY 1 ORDER BY 1"
        )
        out: list[tuple[int, int]] = []
        first: int | None = None
        acc, prev = 0, 0
        for day_no, n in per_day:
            if first is not None and acc + n > BATCH_EVENTS:
                out.append((first, prev))
                first, acc = None, 0
            if first is None:
                first = day_no
            acc += int(n)
            prev = day_no
        if first is not None:
            out.append((first, prev))
        return out

    def days_of(self, lo: int, hi: int) -> Iterator[DayFacts]:
        """The coded facts of each day in [lo, hi] that has any."""
        where = f"WHERE day_no BETWEEN {lo} AND {hi}"
        imp = _by_day(
            self.con.execute(
                "SELECT day_no, epoch_us(event_time) AS t, asset_no, country_no, member_no"
                f" FROM imp {where}"
            ).fetchnumpy()
        )
        play = _by_day(
            self.con.execute(
                "SELECT day_no, epoch_us(event_time) AS t, asset_no, country_no, member_no,"
                f" duration_s, engaged FROM play {where}"
            ).fetchnumpy()
        )
        empty = np.empty(0, dtype=np.int64)
        for day in sorted(set(imp) | set(play)):
            i, p = imp.get(day, {}), play.get(day, {})
            yield DayFacts(
                day=day,
                imp_time=i.get("t", empty),
                imp_asset=i.get("asset_no", empty),
                imp_country=i.get("country_no", empty),
                imp_member=i.get("member_no", empty),
                play_time=p.get("t", empty),
                play_asset=p.get("asset_no", empty),
                play_country=p.get("country_no", empty),
                play_member=p.get("member_no", empty),
                play_seconds=p.get("duration_s", empty),
                play_engaged=p.get("engaged", empty),
            )

    def write_days(
        self,
        staging: Staging,
        coding: Coding,
        on_day: Callable[[date, dict[str, pa.Table], DayFacts], None] | None = None,
    ) -> dict[str, int]:
        """Build and write every day's rollups and event tables (handing each day's
        rollups to `on_day` too); rows written per rollup."""
        builder = RollupBuilder(coding, self.settings.lg_k, list_mode=self.list_mode)
        self.sketcher = builder.sketcher
        self.totals = AlltimeTotals(coding)
        batches = self.batches()
        bar = self.steps.bar
        if bar is not None:
            bar.total = (bar.total or 0) + len(batches)
            bar.refresh()
        view = staging.version_view()
        writer = _Writer(staging)
        try:
            for lo, hi in batches:
                for facts in self.days_of(lo, hi):
                    part = day_partition(EPOCH + timedelta(days=facts.day))
                    tables, summary = builder.build(facts)
                    for name, table in tables.items():
                        writer.submit(name, table, view.rollup_dir(name) / part / "part.parquet")
                    if on_day is not None:
                        on_day(EPOCH + timedelta(days=facts.day), tables, facts)
                    if summary is not None:
                        self.totals.add(summary)
                    for name, table in builder.events(facts).items():
                        writer.submit(name, table, view.events_dir(name) / part / "part.parquet")
                self.steps.tick(f"rollups {EPOCH + timedelta(days=hi)}")
                _checkpoint("rollups", writer.drain)
        finally:
            writer.close()
        return {r.name: writer.rows.get(r.name, 0) for r in ROLLUPS}

    def write_dims(self, staging: Staging) -> None:
        view = staging.version_view()
        for name, schema in (("titles", TITLES), ("assets", ASSETS)):
            key = rules.DIM_KEYS[name]
            table = self.con.sql(f"SELECT * FROM dim_{name} ORDER BY {key}").to_arrow_table()
            table = table.select(schema.names).cast(schema)
            path = view.dim_path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path)

    def alltime_sources(self, kept_days: list[date]) -> tuple[str, str]:
        """Relations (asset_no, title_no, member_id) of every impression and attributed
        play of the new version: this run's facts plus the parent's kept days."""
        out = []
        for name, rel in (("impressions", "imp"), ("plays", "play")):
            sql = (
                f"SELECT f.asset_no, a.title_no, f.member_id FROM {rel} f"
                " JOIN asset_codes a ON a.asset_no = f.asset_no"
            )
            files = [
                f
                for d in kept_days
                if self.parent is not None
                for f in sorted((self.parent.events_dir(name) / day_partition(d)).glob("*.parquet"))
            ]
            if files:
                sql += (
                    " UNION ALL SELECT a.asset_no, t.title_no, e.member_id"
                    f" FROM read_parquet({_sql_list(files)}) e"
                    " JOIN asset_codes a ON a.asset_id = e.asset_id"
                    " JOIN title_codes t ON t.title_id = e.title_id"
                )
            self.con.execute(f"CREATE VIEW alltime_{rel} AS {sql}")
            out.append(f"alltime_{rel}")
        return out[0], out[1]


def _by_day(columns: dict[str, Any]) -> dict[int, dict[str, np.ndarray]]:
    """Fetched fact columns split by `day_no` (int64 arrays per day)."""
    arrays = {k: np.asarray(v, dtype=np.int64) for k, v in columns.items()}
    day = arrays.pop("day_no")
    if not len(day):
        return {}
    lo = int(day.min())
    if int(day.max()) == lo:
        return {lo: arrays}
    order = np.argsort((day - lo).astype(np.int16), kind="stable")
    day = day[order]
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    ends = np.r_[starts[1:], len(day)]
    arrays = {k: v[order] for k, v in arrays.items()}
    return {
        int(day[s]): {k: v[s:e] for k, v in arrays.items()}
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
    }


def ingest(
    raw: Path,
    warehouse: Path,
    settings: EtlSettings = EtlSettings(),  # noqa: B008 - frozen, immutable default
    *,
    progress: bool = False,
    publish_snapshot: bool = True,
    list_mode: bool = True,
    wait_s: float = DEFAULT_WAIT_S,
    gates: GateSettings = GateSettings(),  # noqa: B008 - frozen, immutable default
    serving_layout: bool = False,
) -> IngestReport:
    """Ingest a raw directory into a warehouse as a new version; returns the run's report.
    A schema problem raises ContractError before anything is written. The run holds the
    warehouse's writer lock throughout (waiting up to `wait_s` seconds for another run;
    WarehouseBusy after). Quality `gates` refuse a run with anomalies before anything is
    written (QualityGateError). `list_mode=False` builds every sketch through the library
    (benchmark comparison; same results). `serving_layout=True` also writes the version's
    serving layout, so that servers serve it at once (docs/serving-layout.md; it costs
    ingest CPU), else servers build their own serving copy."""
    started = time.perf_counter()
    raw_input = contract.validate(raw)
    wh = Warehouse(warehouse)
    with writing(wh, wait_s) as writer, progress_bar(progress, len(_STEPS), "ingest") as bar:
        _checkpoint("locked")
        run = _Run(raw_input, wh, settings, bar, list_mode=list_mode, writer=writer)
        try:
            version, report = _build(run, started, gates, serving_layout)
        except duckdb.Error as exc:
            raise IngestError(f"ingest of {raw} failed: {exc}") from exc
        finally:
            run.con.close()
        _checkpoint("snapshot")  # committed, snapshot not yet published (crash tests)
        return publish(wh, version, report, started, publish_snapshot)


def _build(
    run: _Run, started: float, gates: GateSettings, serving_layout: bool
) -> tuple[Version, IngestReport]:
    lap = run.steps.lap
    run.dims()
    lap("dims")
    run.classify_events()
    accounting = run.accounting()
    new_days = run.new_days()
    kept = run.kept_days(new_days)
    lap("events")
    run.members()
    qualified, attributed = run.attribute(new_days)
    attribution = Attribution(qualified, attributed, run.without_profile())
    run.check_gates(gates, accounting, attribution, run.day_volumes())
    lap("attribute")
    # the serving layout is written beside the day files and published with them
    with (
        run.wh.stage(run.writer) as staging,
        embedded_layout(staging, run.settings.lg_k, enabled=serving_layout) as layout,
    ):
        tmp = staging.root / "_duckdb_tmp"
        run.con.execute(f"SET temp_directory = '{str(tmp).replace(chr(39), chr(39) * 2)}'")
        coding = run.coding()
        lap("codes")
        layout.open(run.parent, new_days, kept, coding, list_mode=run.list_mode)
        written = run.write_days(staging, coding, layout.add)
        run.write_dims(staging)
        link_parent_days(staging, run.parent, kept)
        lap("write days")
        view = staging.version_view()
        alltime_assets, alltime_titles = build_alltime(
            run.con,
            run.settings.lg_k,
            run.totals,
            run.parent,
            kept,
            run.alltime_sources(kept),
        )
        view.alltime_path("assets").parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(alltime_assets, view.alltime_path("assets"))
        pq.write_table(alltime_titles, view.alltime_path("titles"))
        lap("all-time")
        layout.finish(run.run_id)  # what the writer thread has left after the days
        lap("serving layout")
        sketcher = run.sketcher
        quarantine = run.write_quarantine(accounting.quarantined)
        shutil.rmtree(tmp, ignore_errors=True)
        version, report = run.commit(
            staging,
            RunCounts(accounting, attribution, written, new_days, kept),
            started,
            quarantine,
            extra={
                "stage_s": run.steps.timings,
                "serving_layout": layout.summary(),
                "sketches": {
                    "list_mode": run.list_mode,
                    "library_sketches": sketcher.library_sketches,
                    "library_updates": sketcher.library_updates,
                },
            },
            before=lambda: _checkpoint("commit"),
        )
        lap("commit")
    return version, report


def main(args: argparse.Namespace) -> int:
    """CLI entry point of `keyart ingest`: runs the chosen engine and prints the report."""
    settings = EtlSettings(
        lg_k=args.lg_k,
        qualify_seconds=args.qualify_seconds,
        engaged_seconds=args.engaged_seconds,
        attribution_hours=args.attribution_hours,
    )
    progress = not args.no_progress
    publish = not args.no_snapshot
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
            progress=progress,
            publish_snapshot=publish,
            wait_s=args.wait,
            gates=gates,
        )
    else:
        report = ingest(
            args.raw,
            args.warehouse,
            settings,
            progress=progress,
            publish_snapshot=publish,
            wait_s=args.wait,
            gates=gates,
            serving_layout=args.serving_layout,
        )
    print(report.render())
    return 0


__all__ = ["HOLD_ENV", "ingest", "main"]
