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
import math
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from keyart.config import EtlSettings
from keyart.errors import IngestError
from keyart.etl import contract
from keyart.etl.alltime import build_alltime
from keyart.etl.attribution import attribution_sql
from keyart.etl.hll import coupon_table
from keyart.etl.report import IngestReport
from keyart.etl.rollups import Coding, Facts, RollupBuilder, day_slices
from keyart.etl.rules import DIM_KEYS, DUPLICATE, EVENT_IDS, classify_sql
from keyart.warehouse.layout import Staging, Version, Warehouse, day_partition
from keyart.warehouse.tables import ASSETS, ROLLUPS, TITLES

EPOCH = date(1970, 1, 1)
BATCH_EVENTS = 2_000_000  # facts per rollup batch (whole days): bounds memory
HOLD_ENV = "KEYART_INGEST_HOLD"  # "<step>=<marker file>": pause there (crash tests only)
_STEPS = ("load", "dims", "events", "attribute", "codes", "write events", "all-time", "commit")


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _checkpoint(step: str) -> None:
    """Pause at `step` when HOLD_ENV asks to, after touching the marker file, so a test can
    kill the process at a known point."""
    spec = os.environ.get(HOLD_ENV, "")
    name, _, marker = spec.partition("=")
    if name == step and marker:
        Path(marker).write_text(step)
        time.sleep(600)


class _Run:
    """The state of one embedded ingest run."""

    def __init__(
        self,
        raw: contract.RawInput,
        warehouse: Warehouse,
        settings: EtlSettings,
        bar: tqdm[Any] | None,
    ) -> None:
        self.raw = raw
        self.wh = warehouse
        self.settings = settings
        self.bar = bar
        self.parent = warehouse.current_or_none()
        self.run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute(f"SET threads = {max(os.cpu_count() or 1, 1)}")
        self.con.execute("SET preserve_insertion_order = false")

    def step(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_description(f"ingest: {name}")
            self.bar.update(1)

    def q(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def scalar(self, sql: str) -> Any:
        return self.q(sql)[0][0]

    # -- raw input, dimensions, classification ---------------------------------------

    def load(self) -> dict[str, int]:
        rows = {}
        for name, table in self.raw.tables.items():
            source = f"read_parquet({_sql_list(list(table.files))}, union_by_name = true)"
            try:
                self.con.execute(
                    f"CREATE TABLE raw_{name} AS {contract.cast_select_sql(table, source)}"
                )
            except duckdb.Error as exc:
                raise IngestError(f"{self.raw.root}: table {name!r} cannot be read: {exc}") from exc
            rows[name] = int(self.scalar(f"SELECT count(*) FROM raw_{name}"))
        return rows

    def dims(self) -> None:
        parent = self.parent
        for name, ref, columns in (
            ("titles", {}, "title_id, name, kind, coalesce(genres, []) AS genres, launch_date"),
            (
                "assets",
                {"titles": "dim_titles"},
                "asset_id, title_id, asset_type, name, coalesce(tags, []) AS tags, media_url",
            ),
        ):
            self.con.execute(f"CREATE TABLE cls_{name} AS {classify_sql(name, f'raw_{name}', ref)}")
            key = DIM_KEYS[name]
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
        self.con.execute(
            f"CREATE TABLE cls_members AS {classify_sql('members', 'raw_members', {})}"
        )
        # a member's label set: distinct, sorted, without NULLs (list_distinct drops them)
        self.con.execute(
            "CREATE TABLE profiles AS SELECT member_id,"
            " list_sort(list_distinct(coalesce(affinities, []))) AS labels"
            " FROM cls_members WHERE reason IS NULL"
        )

    def classify_events(self) -> None:
        self.con.execute(
            "CREATE TABLE cls_impressions AS "
            + classify_sql("impressions", "raw_impressions", {"assets": "dim_assets"})
        )
        self.con.execute(
            "CREATE TABLE cls_playbacks AS "
            + classify_sql("playbacks", "raw_playbacks", {"titles": "dim_titles"})
        )
        self.con.execute(
            "CREATE TABLE imp_clean AS SELECT i.event_time, i.member_id, i.asset_id,"
            " a.title_id, a.asset_type, i.country FROM cls_impressions i"
            " JOIN dim_assets a ON a.asset_id = i.asset_id WHERE i.reason IS NULL"
        )
        self.con.execute(
            "CREATE TABLE play_clean AS SELECT playback_id, _rank, event_time, member_id,"
            " title_id, asset_id, duration_s FROM cls_playbacks WHERE reason IS NULL"
        )

    def accounting(self) -> tuple[dict[str, int], dict[str, dict[str, int]], dict[str, int]]:
        kept: dict[str, int] = {}
        quarantined: dict[str, dict[str, int]] = {}
        duplicates: dict[str, int] = {}
        for name in self.raw.tables:
            counts = dict(self.q(f"SELECT reason, count(*) FROM cls_{name} GROUP BY 1"))
            kept[name] = int(counts.pop(None, 0))
            if name in EVENT_IDS:
                duplicates[name] = int(counts.pop(DUPLICATE, 0))
            quarantined[name] = {str(k): int(v) for k, v in sorted(counts.items())}
        return kept, quarantined, duplicates

    def write_quarantine(self, quarantined: dict[str, dict[str, int]]) -> Path | None:
        folder = self.wh.quarantine_dir / self.run_id
        wrote = False
        for name, by_reason in quarantined.items():
            if not sum(by_reason.values()):
                continue
            folder.mkdir(parents=True, exist_ok=True)
            cols = ", ".join(contract.RAW_TABLES[name].names)
            target = str(folder / f"{name}.parquet").replace("'", "''")
            self.con.execute(
                f"COPY (SELECT {cols}, reason FROM cls_{name} WHERE reason IS NOT NULL"
                f" AND reason <> '{DUPLICATE}') TO '{target}' (FORMAT parquet)"
            )
            wrote = True
        return folder if wrote else None

    def new_days(self) -> list[date]:
        rows = self.q(
            "SELECT DISTINCT CAST(event_time AS DATE) FROM raw_impressions"
            " WHERE event_time IS NOT NULL UNION SELECT DISTINCT CAST(event_time AS DATE)"
            " FROM raw_playbacks WHERE event_time IS NOT NULL"
        )
        return sorted(r[0] for r in rows)

    # -- attribution -------------------------------------------------------------------

    def attribute(self, new_days: list[date]) -> tuple[int, int]:
        lookback = self._lookback_files(new_days)
        extra = ""
        if lookback:
            extra = (
                " UNION ALL SELECT member_id, title_id, asset_id, country,"
                " CAST(event_time AS TIMESTAMP) AS event_time"
                f" FROM read_parquet({_sql_list(lookback)})"
            )
        self.con.execute(
            "CREATE VIEW attr_imps AS SELECT member_id, title_id, asset_id, country, event_time"
            f" FROM imp_clean{extra}"
        )
        sql = attribution_sql(
            "play_clean",
            "attr_imps",
            self.settings,
            play_columns=("member_id", "title_id", "asset_id", "event_time", "duration_s"),
        )
        self.con.execute(f"CREATE TABLE play_attr AS {sql}")
        engaged = int(self.settings.engaged_seconds)
        self.con.execute(
            "CREATE TABLE play_facts AS SELECT p.event_time, p.member_id, a.title_id,"
            " p.attr_asset_id AS asset_id, a.asset_type, p.attr_country AS country,"
            f" p.duration_s, p.duration_s >= {engaged} AS engaged"
            " FROM play_attr p JOIN dim_assets a ON a.asset_id = p.attr_asset_id"
        )
        qualified = int(self.scalar("SELECT count(*) FROM play_attr"))
        attributed = int(self.scalar("SELECT count(*) FROM play_facts"))
        return qualified, attributed

    def _lookback_files(self, new_days: list[date]) -> list[Path]:
        """Parent impressions of untouched days a new day's plays may be attributed to."""
        if self.parent is None or not new_days:
            return []
        reach = math.ceil(self.settings.attribution_hours / 24)
        wanted = {d - timedelta(days=k) for d in new_days for k in range(1, reach + 1)}
        keep = (wanted & set(self.parent.days)) - set(new_days)
        files: list[Path] = []
        for d in sorted(keep):
            files.extend(
                sorted((self.parent.events_dir("impressions") / day_partition(d)).glob("*.parquet"))
            )
        return files

    def without_profile(self) -> dict[str, int]:
        out = {}
        for name, rel in (("impressions", "imp_clean"), ("playbacks", "play_clean")):
            out[name] = int(
                self.scalar(
                    f"SELECT count(*) FROM {rel} e LEFT JOIN profiles p"
                    " ON p.member_id = e.member_id WHERE p.member_id IS NULL"
                )
            )
        return out

    # -- codes and rollups -------------------------------------------------------------

    def coding(self) -> Coding:
        con = self.con
        con.execute(
            "CREATE TABLE asset_codes AS SELECT (row_number() OVER (ORDER BY asset_id) - 1)"
            "::BIGINT AS asset_no, asset_id, title_id, asset_type FROM dim_assets"
        )
        con.execute(
            "CREATE TABLE country_codes AS SELECT (row_number() OVER (ORDER BY country) - 1)"
            "::BIGINT AS country_no, country FROM (SELECT country FROM imp_clean"
            " UNION SELECT country FROM play_facts)"
        )
        # member numbers in (label set, member id) order: see keyart.etl.rollups
        con.execute(
            "CREATE TABLE member_codes AS SELECT"
            " (row_number() OVER (ORDER BY labels, member_id) - 1)::BIGINT AS member_no,"
            " (dense_rank() OVER (ORDER BY labels) - 1)::BIGINT AS set_no, member_id, labels"
            " FROM (SELECT m.member_id, coalesce(p.labels, []::VARCHAR[]) AS labels FROM"
            " (SELECT member_id FROM imp_clean UNION SELECT member_id FROM play_facts) m"
            " LEFT JOIN profiles p ON p.member_id = m.member_id)"
        )
        assets = con.sql("SELECT * FROM asset_codes ORDER BY asset_no").to_arrow_table()
        countries = con.sql(
            "SELECT country FROM country_codes ORDER BY country_no"
        ).to_arrow_table()
        members = con.sql(
            "SELECT member_no, set_no, member_id, labels FROM member_codes ORDER BY member_no"
        ).to_arrow_table()
        labels = pc.unique(pc.list_flatten(members.column("labels"))).sort()
        sets = con.sql(
            "SELECT set_no, any_value(labels) AS labels FROM member_codes GROUP BY 1 ORDER BY 1"
        ).to_arrow_table()
        member_labels = members.column("labels").combine_chunks()
        if not isinstance(member_labels, pa.ListArray):
            member_labels = member_labels.cast(pa.list_(pa.string()))
        flat = pc.index_in(member_labels.flatten(), value_set=labels).to_numpy(zero_copy_only=False)
        member_ids = members.column("member_id").to_numpy().astype(np.int64)
        coupons = coupon_table(member_ids, self.settings.lg_k)
        return Coding(
            asset_ids=assets.column("asset_id").combine_chunks(),
            title_ids=assets.column("title_id").combine_chunks(),
            asset_types=assets.column("asset_type").combine_chunks(),
            countries=countries.column("country").combine_chunks(),
            labels=labels,
            member_ids=member_ids,
            coupons=coupons.column("coupon").to_numpy(),
            clash=coupons.column("clash").to_numpy(zero_copy_only=False),
            member_set=members.column("set_no").to_numpy().astype(np.int64),
            set_labels=sets.column("labels").combine_chunks().cast(pa.list_(pa.string())),
            label_offsets=member_labels.offsets.to_numpy().astype(np.int64)
            - int(member_labels.offsets[0].as_py()),
            label_values=(np.asarray(flat, dtype=np.int64) + 1),
        )

    def code_facts(self) -> None:
        self.con.execute(
            "CREATE TABLE imp_codes AS SELECT"
            " date_diff('day', DATE '1970-01-01', CAST(i.event_time AS DATE)) AS day_no,"
            " a.asset_no, c.country_no, m.member_no FROM imp_clean i"
            " JOIN asset_codes a ON a.asset_id = i.asset_id"
            " JOIN country_codes c ON c.country = i.country"
            " JOIN member_codes m ON m.member_id = i.member_id"
        )
        self.con.execute(
            "CREATE TABLE play_codes AS SELECT"
            " date_diff('day', DATE '1970-01-01', CAST(p.event_time AS DATE)) AS day_no,"
            " a.asset_no, c.country_no, m.member_no, p.duration_s,"
            " CAST(p.engaged AS BIGINT) AS engaged FROM play_facts p"
            " JOIN asset_codes a ON a.asset_id = p.asset_id"
            " JOIN country_codes c ON c.country = p.country"
            " JOIN member_codes m ON m.member_id = p.member_id"
        )

    def batches(self) -> list[tuple[int, int]]:
        """Consecutive day-number ranges holding about BATCH_EVENTS facts each."""
        per_day = self.q(
            "SELECT day_no, sum(n) FROM (SELECT day_no, count(*) AS n FROM imp_codes GROUP BY 1"
            " UNION ALL SELECT day_no, count(*) FROM play_codes GROUP BY 1) GROUP BY 1 ORDER BY 1"
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

    def facts(self, lo: int, hi: int) -> Facts:
        where = f"WHERE day_no BETWEEN {lo} AND {hi}"
        imp = self.con.sql(f"SELECT * FROM imp_codes {where}").fetchnumpy()
        play = self.con.sql(f"SELECT * FROM play_codes {where}").fetchnumpy()

        def col(d: dict[str, Any], name: str) -> np.ndarray:
            return np.asarray(d[name], dtype=np.int64)

        return Facts(
            imp_day=col(imp, "day_no"),
            imp_asset=col(imp, "asset_no"),
            imp_country=col(imp, "country_no"),
            imp_member=col(imp, "member_no"),
            play_day=col(play, "day_no"),
            play_asset=col(play, "asset_no"),
            play_country=col(play, "country_no"),
            play_member=col(play, "member_no"),
            play_seconds=col(play, "duration_s"),
            play_engaged=col(play, "engaged"),
        )

    def write_rollups(self, staging: Staging, coding: Coding) -> dict[str, int]:
        builder = RollupBuilder(coding, self.settings.lg_k)
        written = {r.name: 0 for r in ROLLUPS}
        batches = self.batches()
        if self.bar is not None:
            self.bar.total = (self.bar.total or 0) + len(batches)
            self.bar.refresh()
        view = staging.version_view()
        for lo, hi in batches:
            tables = builder.build(self.facts(lo, hi))
            for name, table in tables.items():
                for day_no, rows in day_slices(table):
                    folder = view.rollup_dir(name) / day_partition(EPOCH + timedelta(days=day_no))
                    folder.mkdir(parents=True, exist_ok=True)
                    pq.write_table(rows, folder / "part.parquet")
                    written[name] += rows.num_rows
            self.step(f"rollups {EPOCH + timedelta(days=hi)}")
            _checkpoint("rollups")
        return written

    def write_events(self, staging: Staging) -> None:
        view = staging.version_view()
        for name, sql in (
            (
                "impressions",
                "SELECT CAST(i.event_time AS DATE) AS day,"
                " CAST(i.event_time AS TIMESTAMPTZ) AS event_time, i.member_id, i.title_id,"
                " i.asset_id, i.asset_type, i.country, m.labels AS affinities"
                " FROM imp_clean i JOIN member_codes m ON m.member_id = i.member_id",
            ),
            (
                "plays",
                "SELECT CAST(p.event_time AS DATE) AS day,"
                " CAST(p.event_time AS TIMESTAMPTZ) AS event_time, p.member_id, p.title_id,"
                " p.asset_id, p.asset_type, p.country, m.labels AS affinities, p.duration_s,"
                " p.engaged FROM play_facts p JOIN member_codes m ON m.member_id = p.member_id",
            ),
        ):
            target = view.events_dir(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not self.scalar(f"SELECT count(*) > 0 FROM ({sql})"):
                continue
            self.con.execute(
                f"COPY ({sql}) TO '{str(target).replace(chr(39), chr(39) * 2)}'"
                " (FORMAT parquet, PARTITION_BY (day), WRITE_PARTITION_COLUMNS true,"
                " FILENAME_PATTERN 'part{i}')"
            )

    def write_dims(self, staging: Staging) -> pa.Table:
        view = staging.version_view()
        out = {}
        for name, schema in (("titles", TITLES), ("assets", ASSETS)):
            key = DIM_KEYS[name]
            table = self.con.sql(f"SELECT * FROM dim_{name} ORDER BY {key}").to_arrow_table()
            table = table.select(schema.names).cast(schema)
            path = view.dim_path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path)
            out[name] = table
        return out["assets"]

    def link_parent_days(self, staging: Staging, new_days: list[date]) -> list[date]:
        if self.parent is None:
            return []
        kept = [d for d in self.parent.days if d not in set(new_days)]
        for d in kept:
            part = day_partition(d)
            for rollup in ROLLUPS:
                staging.link_from(self.parent, f"rollups/{rollup.name}/{part}")
            for name in ("impressions", "plays"):
                staging.link_from(self.parent, f"events/{name}/{part}")
        return kept

    def check_parent_settings(self, kept_days: list[date]) -> None:
        if self.parent is None or not kept_days:
            return
        before = self.parent.manifest.get("etl", {})
        for field in ("lg_k", "qualify_seconds", "engaged_seconds", "attribution_hours"):
            now = getattr(self.settings, field)
            if field in before and int(before[field]) != now:
                raise IngestError(
                    f"{field}={now} differs from {before[field]} used by warehouse version "
                    f"{self.parent.name}, whose days "
                    f"{kept_days[0]}..{kept_days[-1]} would be kept: re-ingest every day with "
                    f"the new settings into a fresh warehouse, or keep {field}={before[field]}"
                )


def _rollup_totals(version: Version) -> dict[str, int]:
    return {
        r.name: sum(
            pq.ParquetFile(f).metadata.num_rows
            for f in version.rollup_dir(r).glob("day=*/*.parquet")
        )
        for r in ROLLUPS
    }


@contextmanager
def _progress(enabled: bool) -> Iterator[tqdm[Any] | None]:
    if not enabled:
        yield None
        return
    bar = tqdm(total=len(_STEPS), unit="step", desc="ingest")
    try:
        yield bar
    finally:
        bar.close()


def ingest(
    raw: Path,
    warehouse: Path,
    settings: EtlSettings = EtlSettings(),  # noqa: B008 - frozen, immutable default
    *,
    progress: bool = False,
    publish_snapshot: bool = True,
) -> IngestReport:
    """Ingest a raw directory into a warehouse as a new version; returns the run's report.
    A schema problem raises ContractError before anything is written."""
    started = time.perf_counter()
    raw_input = contract.validate(raw)
    wh = Warehouse(warehouse)
    with _progress(progress) as bar:
        run = _Run(raw_input, wh, settings, bar)
        try:
            version, report = _build(run, started)
        except duckdb.Error as exc:
            raise IngestError(f"ingest of {raw} failed: {exc}") from exc
        finally:
            run.con.close()
        snapshot = None
        if publish_snapshot:
            from keyart.store.producer import SnapshotProducer

            snapshot = SnapshotProducer(wh.snapshots_dir).publish(version)
    return report.with_updates(
        snapshot_version=snapshot, elapsed_s=round(time.perf_counter() - started, 3)
    )


def _build(run: _Run, started: float) -> tuple[Version, IngestReport]:
    rows_read = run.load()
    run.step("load")
    run.dims()
    run.step("dims")
    run.classify_events()
    kept, quarantined, duplicates = run.accounting()
    new_days = run.new_days()
    parent_days = run.parent.days if run.parent is not None else []
    run.check_parent_settings([d for d in parent_days if d not in set(new_days)])
    run.step("events")
    qualified, attributed = run.attribute(new_days)
    no_profile = run.without_profile()
    run.step("attribute")
    with run.wh.stage() as staging:
        tmp = staging.root / "_duckdb_tmp"
        run.con.execute(f"SET temp_directory = '{str(tmp).replace(chr(39), chr(39) * 2)}'")
        coding = run.coding()
        run.code_facts()
        run.step("codes")
        written = run.write_rollups(staging, coding)
        run.write_events(staging)
        assets = run.write_dims(staging)
        kept_days = run.link_parent_days(staging, new_days)
        run.step("write events")
        view = staging.version_view()
        alltime_assets, alltime_titles = build_alltime(run.con, view, assets, run.settings.lg_k)
        view.alltime_path("assets").parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(alltime_assets, view.alltime_path("assets"))
        pq.write_table(alltime_titles, view.alltime_path("titles"))
        run.step("all-time")
        quarantine = run.write_quarantine(quarantined)
        report = IngestReport(
            run_id=run.run_id,
            engine="embedded",
            rows_read=rows_read,
            kept=kept,
            quarantined=quarantined,
            duplicates=duplicates,
            events_without_profile=no_profile,
            qualified_plays=qualified,
            attributed_plays=attributed,
            unattributed_plays=qualified - attributed,
            rollup_rows=written,
            days=[d.isoformat() for d in new_days],
            parent_version=run.parent.name if run.parent is not None else None,
            elapsed_s=round(time.perf_counter() - started, 3),
            quarantine_dir=str(quarantine) if quarantine is not None else None,
        )
        shutil.rmtree(tmp, ignore_errors=True)
        manifest = {
            "run_id": run.run_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "parent": report.parent_version,
            "days": sorted({*(d.isoformat() for d in kept_days), *report.days}),
            "etl": {
                "engine": "embedded",
                "lg_k": run.settings.lg_k,
                "qualify_seconds": run.settings.qualify_seconds,
                "engaged_seconds": run.settings.engaged_seconds,
                "attribution_hours": run.settings.attribution_hours,
            },
            "rollups": _rollup_totals(view),
            "report": report.to_dict(),
        }
        _checkpoint("commit")
        version = staging.commit(manifest)
        run.step("commit")
    return version, report.with_updates(warehouse_version=version.name)


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
    if args.engine == "spark":
        from keyart.etl.spark import ingest_spark  # type: ignore[attr-defined,unused-ignore]

        report = ingest_spark(
            args.raw,
            args.warehouse,
            settings,
            master=args.spark_master,
            progress=progress,
            publish_snapshot=publish,
        )
    else:
        report = ingest(
            args.raw, args.warehouse, settings, progress=progress, publish_snapshot=publish
        )
    print(report.render())
    return 0


__all__ = ["HOLD_ENV", "ingest", "main"]
