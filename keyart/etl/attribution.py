"""Attribution of qualified playbacks to impressions (DESIGN §2), as portable SQL.

A qualified playback (duration_s >= qualify_seconds) goes to the member's most recent
impression of any asset of the same title within `attribution_hours` before the playback
start, both ends inclusive. When the playback carries an asset_id and the member saw that
asset (of the playback's title) inside the window, its most recent such impression wins
instead. Ties at the same instant go to the smaller asset_id (then the smaller country, so
the choice is always deterministic). The SQL uses only joins, CASE, INTERVAL and
ROW_NUMBER, which DuckDB and Spark SQL both evaluate.
"""

from __future__ import annotations

from collections.abc import Sequence

from keyart.config import EtlSettings


def qualified_sql(plays: str, settings: EtlSettings) -> str:
    """The qualified playbacks of `plays`."""
    return f"SELECT * FROM {plays} WHERE duration_s >= {int(settings.qualify_seconds)}"


def attribution_sql(
    plays: str,
    impressions: str,
    settings: EtlSettings,
    *,
    play_key: Sequence[str] = ("playback_id", "_rank"),
    play_columns: Sequence[str] = ("member_id", "title_id", "asset_id", "event_time"),
) -> str:
    """SQL giving one row per qualified playback of `plays` with its `play_key` and
    `play_columns` plus `attr_asset_id`, `attr_country` and `attr_time` of the impression
    it is attributed to (all NULL when none qualifies).

    `plays` needs play_key + member_id, title_id, asset_id (nullable), event_time,
    duration_s; `play_key` must identify a playback uniquely (NULLs allowed: they partition
    together). `impressions` needs member_id, title_id, asset_id, country, event_time.
    """
    hours = int(settings.attribution_hours)
    keep = [*dict.fromkeys([*play_key, *play_columns])]
    select_play = ", ".join(f"_p.{c} AS {c}" for c in keep)
    partition = ", ".join(f"_p.{c}" for c in play_key)
    candidates = (
        f"SELECT {select_play}, _i.asset_id AS attr_asset_id, _i.country AS attr_country,"
        f" _i.event_time AS attr_time,"
        f" ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY"
        f" CASE WHEN _i.asset_id = _p.asset_id THEN 0 ELSE 1 END,"
        f" _i.event_time DESC NULLS LAST, _i.asset_id ASC NULLS LAST,"
        f" _i.country ASC NULLS LAST) AS _pick"
        f" FROM ({qualified_sql(plays, settings)}) _p"
        f" LEFT JOIN {impressions} _i ON _i.member_id = _p.member_id"
        f" AND _i.title_id = _p.title_id"
        f" AND _i.event_time >= _p.event_time - INTERVAL '{hours}' HOUR"
        f" AND _i.event_time <= _p.event_time"
    )
    out = ", ".join([*keep, "attr_asset_id", "attr_country", "attr_time"])
    return f"SELECT {out} FROM ({candidates}) _a WHERE _pick = 1"


__all__ = ["attribution_sql", "qualified_sql"]
