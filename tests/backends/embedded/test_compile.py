"""IR → SQL: every user value is a bound parameter, and the SQL runs on DuckDB."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from keyart.backends.duckdb.clauses import bucket_expr
from keyart.backends.duckdb.sql import Source
from keyart.backends.embedded.compile import compile_rollup
from keyart.backends.embedded.plan import choose_rollup
from keyart.backends.legacy.compile import EventSources, compile_events
from keyart.query.ir import Dimension, Filter, Granularity, Interval, Metric, MetricQuery
from keyart.warehouse.tables import ASSET_COUNTRY_DAY

WINDOW = Interval(date(2024, 1, 3), date(2024, 2, 14))
MARKER = "zz-user-value"


def _queries() -> list[MetricQuery]:
    f = Filter(
        title_ids=(MARKER + "t",),
        asset_ids=(MARKER + "a", MARKER + "b"),
        asset_types=("video",),
        countries=(MARKER + "c",),
    )
    return [
        MetricQuery(WINDOW, Granularity.WEEK, f, (Dimension.ASSET,)),
        MetricQuery(WINDOW, filter=Filter(affinities=(MARKER + "x",))),
        MetricQuery(WINDOW, filter=Filter(affinities=(MARKER + "x", MARKER + "y"))),
        MetricQuery(
            WINDOW,
            Granularity.MONTH,
            Filter(affinities=(MARKER + "x", MARKER + "y")),
            (Dimension.AFFINITY, Dimension.COUNTRY),
        ),
        MetricQuery(WINDOW, metrics=(Metric.UNIQUE_PLAYERS,)),
    ]


@pytest.mark.parametrize("query", _queries())
def test_user_values_are_parameters(query: MetricQuery) -> None:
    rollup_sql = compile_rollup(query, choose_rollup(query), Source.parquet(["/data/x.parquet"]))
    events = EventSources(Source.parquet(["/e/i.parquet"]), Source.table("srv", "plays"))
    event_sql = compile_events(query, events, 120)
    for sql in (rollup_sql, event_sql):
        assert MARKER not in sql.text
        assert sql.text.count("?") == len(sql.params)
        flat = [v for p in sql.params for v in (p if isinstance(p, list) else [p])]
        assert all(v in flat for v in query.filter.constraints().get(Dimension.ASSET, ()))


def test_only_requested_metrics_are_read() -> None:
    query = MetricQuery(WINDOW, metrics=(Metric.IMPRESSIONS, Metric.UNIQUE_PLAYERS))
    text = compile_rollup(query, ASSET_COUNTRY_DAY, Source.parquet(["/x.parquet"])).text
    assert "impressions" in text and "play_sketch" in text
    for column in ("imp_sketch", "qualified_plays", "play_seconds", "engaged_plays"):
        assert column not in text


@pytest.mark.parametrize(
    ("granularity", "day", "expected"),
    [
        (Granularity.DAY, date(2024, 2, 29), date(2024, 2, 29)),
        (Granularity.WEEK, date(2024, 2, 29), date(2024, 2, 26)),  # Thursday -> Monday
        (Granularity.WEEK, date(2024, 2, 26), date(2024, 2, 26)),
        (Granularity.WEEK, date(2024, 1, 7), date(2024, 1, 1)),  # Sunday -> previous Monday
        (Granularity.WEEK, date(2021, 1, 2), date(2020, 12, 28)),  # ISO week across a year
        (Granularity.MONTH, date(2024, 2, 29), date(2024, 2, 1)),
    ],
)
def test_bucket_expr_runs_in_duckdb(granularity: Granularity, day: date, expected: date) -> None:
    expr = bucket_expr(granularity, "d")
    assert expr is not None
    # a connection of its own: a half-read result on DuckDB's shared default connection
    # would break the next test that uses it
    with duckdb.connect() as con:
        row = con.execute(f"SELECT {expr} FROM (SELECT ?::DATE AS d)", [day]).fetchone()
    assert row == (expected,)


def test_all_granularity_has_no_bucket() -> None:
    assert bucket_expr(Granularity.ALL) is None
