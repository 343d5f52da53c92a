"""Members as numbers, and the attribution of qualified plays to impressions (the
portable attribution SQL of `keyart.etl.attribution`, run over numbers in id order so
that ties break as on the ids).

Creates `member_codes` (member_no, set_no, member_id, labels, has_profile), `imp` (kept
impressions as codes) and `play` (attributed qualified plays as codes).
"""

from __future__ import annotations

from datetime import date

import duckdb

from keyart.backends.duckdb.sql import sql_strings
from keyart.config import EtlSettings
from keyart.etl.attribution import attribution_sql
from keyart.etl.embedded.duck import country_no, day_no, day_of
from keyart.etl.runs import Attribution, lookback_files
from keyart.warehouse.layout import Version


def code_members(con: duckdb.DuckDBPyConnection, settings: EtlSettings) -> None:
    """member_codes: every member with a clean impression or qualified playback,
    numbered in (label set, member id) order (see keyart.etl.embedded.rollups), and
    `imp`: the kept impressions with their member numbers."""
    qualify = int(settings.qualify_seconds)
    con.execute(
        "CREATE TABLE member_codes AS SELECT"
        " (row_number() OVER (ORDER BY labels, member_id) - 1)::INTEGER AS member_no,"
        " (dense_rank() OVER (ORDER BY labels) - 1)::INTEGER AS set_no,"
        " member_id, labels, has_profile FROM (SELECT m.member_id,"
        " coalesce(p.labels, []::VARCHAR[]) AS labels, p.member_id IS NOT NULL AS has_profile"
        " FROM (SELECT member_id FROM cls_impressions WHERE reason IS NULL UNION"
        " SELECT member_id FROM cls_playbacks WHERE reason IS NULL"
        f" AND duration_s >= {qualify}) m LEFT JOIN profiles p ON p.member_id = m.member_id)"
    )
    con.execute(
        "CREATE TABLE imp AS SELECT i.day_no, i.event_time, i.member_id, m.member_no,"
        " i.asset_no, i.country_no FROM cls_impressions i"
        " JOIN member_codes m ON m.member_id = i.member_id WHERE i.reason IS NULL"
    )


def attribute(
    con: duckdb.DuckDBPyConnection,
    settings: EtlSettings,
    parent: Version | None,
    new_days: list[date],
) -> Attribution:
    """`play`: the attributed qualified plays as codes, also looking back into the
    parent's impressions before the run's first day; the counts for the report."""
    qualify = int(settings.qualify_seconds)
    con.execute(
        "CREATE TABLE qplays AS SELECT rowid AS play_no, member_id, title_no AS title_id,"
        " asset_no AS asset_id, event_time, duration_s FROM cls_playbacks"
        f" WHERE reason IS NULL AND duration_s >= {qualify}"
    )
    # only impressions of a (member, title) with a qualified play can be picked
    wanted = "SEMI JOIN (SELECT DISTINCT member_id, title_id FROM qplays) _q ON"
    lookback = lookback_files(parent, settings, new_days)
    extra = ""
    if lookback:
        extra = (
            " UNION ALL SELECT e.member_id, t.title_no, a.asset_no,"
            f" {country_no('e.country')}, CAST(e.event_time AS TIMESTAMP)"
            f" FROM read_parquet({sql_strings(lookback)}) e"
            " JOIN title_codes t ON t.title_id = e.title_id"
            " JOIN asset_codes a ON a.asset_id = e.asset_id"
            f" {wanted} _q.member_id = e.member_id AND _q.title_id = t.title_no"
        )
    con.execute(
        "CREATE TABLE attr_imps AS SELECT i.member_id, a.title_no AS title_id,"
        " i.asset_no AS asset_id, i.country_no AS country, i.event_time"
        " FROM imp i JOIN asset_codes a ON a.asset_no = i.asset_no"
        f" {wanted} _q.member_id = i.member_id AND _q.title_id = a.title_no{extra}"
    )
    sql = attribution_sql(
        "qplays",
        "attr_imps",
        settings,
        play_key=("play_no",),
        play_columns=("member_id", "title_id", "asset_id", "event_time", "duration_s"),
    )
    con.execute(f"CREATE TABLE play_attr AS {sql}")
    engaged = int(settings.engaged_seconds)
    con.execute(
        f"CREATE TABLE play AS SELECT {day_no('p.event_time')} AS day_no, p.event_time,"
        " p.member_id, m.member_no, p.attr_asset_id AS asset_no,"
        " p.attr_country AS country_no, p.duration_s,"
        f" (p.duration_s >= {engaged})::INTEGER AS engaged FROM play_attr p"
        " JOIN member_codes m ON m.member_id = p.member_id"
        " WHERE p.attr_asset_id IS NOT NULL"
    )
    qualified = _count(con, "SELECT count(*) FROM play_attr")
    attributed = _count(con, "SELECT count(*) FROM play")
    return Attribution(qualified, attributed, _without_profile(con))


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def _without_profile(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Kept events whose member has no profile, per event table."""
    return {
        "impressions": _count(
            con,
            "SELECT count(*) FROM imp WHERE member_no IN"
            " (SELECT member_no FROM member_codes WHERE NOT has_profile)",
        ),
        "playbacks": _count(
            con,
            "SELECT count(*) FROM cls_playbacks c WHERE c.reason IS NULL"
            " AND c.member_id NOT IN (SELECT member_id FROM profiles)",
        ),
    }


def day_volumes(con: duckdb.DuckDBPyConnection) -> dict[date, int]:
    """Kept impressions per day of this run (what the volume gate compares)."""
    rows = con.execute("SELECT day_no, count(*) FROM imp GROUP BY 1").fetchall()
    return {day_of(int(d)): int(n) for d, n in rows}


__all__ = ["attribute", "code_members", "day_volumes"]
