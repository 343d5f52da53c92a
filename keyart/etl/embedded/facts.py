"""The coded facts (`imp`, `play`) fetched from DuckDB a batch of whole days at a time and
split into one `DayFacts` per day."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

from keyart.etl.embedded.rollups import DayFacts

BATCH_EVENTS = 4_000_000  # facts fetched from DuckDB at a time (whole days): bounds memory

I64 = npt.NDArray[np.int64]


def batches(con: duckdb.DuckDBPyConnection) -> list[tuple[int, int]]:
    """Consecutive day-number ranges holding about BATCH_EVENTS facts each."""
    per_day = con.execute(
        "SELECT day_no, sum(n) FROM (SELECT day_no, count(*) AS n FROM imp GROUP BY 1"
        " UNION ALL SELECT day_no, count(*) FROM play GROUP BY 1) GROUP BY 1 ORDER BY 1"
    ).fetchall()
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


def days_of(con: duckdb.DuckDBPyConnection, lo: int, hi: int) -> Iterator[DayFacts]:
    """The coded facts of each day in [lo, hi] that has any."""
    where = f"WHERE day_no BETWEEN {lo} AND {hi}"
    imp = _by_day(
        con.execute(
            "SELECT day_no, epoch_us(event_time) AS t, asset_no, country_no, member_no"
            f" FROM imp {where}"
        ).fetchnumpy()
    )
    play = _by_day(
        con.execute(
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


def _by_day(columns: dict[str, Any]) -> dict[int, dict[str, I64]]:
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


__all__ = ["BATCH_EVENTS", "batches", "days_of"]
