"""Tests of `keyart generate`: the raw contract it writes, determinism, planted defects and
anomalies, and the structure the rest of keyart relies on, checked with DuckDB SQL over the
written Parquet files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import keyart.etl.generator.dataset as gen
from keyart.cli import main as cli_main
from keyart.errors import ConfigError
from keyart.etl.generator import GenerateSummary, generate
from keyart.etl.generator.vocab import AFFINITY_GENRES
from keyart.etl.schemas import RAW_TABLES

EVENT_TABLES = ("impressions", "playbacks")


def _files(raw: Path, table: str) -> list[Path]:
    if table in EVENT_TABLES:
        return sorted((raw / table).glob("*.parquet"))
    return [raw / f"{table}.parquet"]


def _read(raw: Path, table: str) -> pa.Table:
    return pa.concat_tables([pq.read_table(f) for f in _files(raw, table)])


@pytest.fixture(scope="module")
def summary(tiny_raw: Path) -> GenerateSummary:
    """The summary of the shared tiny dataset, as recorded in its _planted.json."""
    return GenerateSummary.read(tiny_raw)


@pytest.fixture(scope="module")
def con(tiny_raw: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB views over the raw tables, plus clean events attributed the DESIGN §2 way
    (most recent impression of the same title by the member within 24 h, via ASOF JOIN)."""
    db = duckdb.connect()
    for table in ("titles", "assets", "members"):
        db.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{tiny_raw}/{table}.parquet')"
        )
    for table in EVENT_TABLES:
        db.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{tiny_raw}/{table}/*.parquet')"
        )
    db.execute(
        """
        CREATE TABLE clean_imp AS
        SELECT DISTINCT i.*, a.title_id FROM impressions i JOIN assets a USING (asset_id)
        WHERE i.member_id IS NOT NULL AND i.event_time IS NOT NULL
          AND regexp_full_match(i.country, '[A-Z]{2}');
        CREATE TABLE clean_play AS
        SELECT DISTINCT p.* FROM playbacks p JOIN titles t USING (title_id)
        WHERE p.member_id IS NOT NULL AND p.event_time IS NOT NULL AND p.duration_s >= 0;
        CREATE TABLE attributed AS
        SELECT p.member_id, p.title_id, p.duration_s, i.asset_id AS imp_asset
        FROM clean_play p ASOF JOIN clean_imp i
          ON p.member_id = i.member_id AND p.title_id = i.title_id
         AND p.event_time >= i.event_time
        WHERE p.event_time - i.event_time <= INTERVAL 24 HOUR;
        """
    )
    db.execute("CREATE TABLE affinity_genres (affinity VARCHAR, genre VARCHAR)")
    db.executemany(
        "INSERT INTO affinity_genres VALUES (?, ?)",
        [(a, g) for a, genres in AFFINITY_GENRES.items() for g in genres],
    )
    yield db
    db.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def test_every_table_has_exactly_the_raw_contract_schema(tiny_raw: Path) -> None:
    for table, schema in RAW_TABLES.items():
        files = _files(tiny_raw, table)
        assert files, table
        for f in files:
            assert pq.read_schema(f).equals(schema, check_metadata=False), f


def test_summary_row_counts_match_the_files(tiny_raw: Path, summary: GenerateSummary) -> None:
    for table, n in summary.rows.items():
        assert _read(tiny_raw, table).num_rows == n, table


def test_returned_summary_equals_the_recorded_one(tmp_path: Path) -> None:
    returned = generate("tiny", tmp_path / "raw", seed=5)
    assert returned.elapsed_s > 0
    assert GenerateSummary.read(tmp_path / "raw") == replace(returned, elapsed_s=0.0)


def test_same_seed_gives_identical_tables_and_another_seed_differs(
    tiny_raw: Path, tmp_path: Path
) -> None:
    again = generate("tiny", tmp_path / "again", seed=7)
    other = generate("tiny", tmp_path / "other", seed=8)
    for table in RAW_TABLES:
        assert _read(tmp_path / "again", table).equals(_read(tiny_raw, table)), table
        assert not _read(tmp_path / "other", table).equals(_read(tiny_raw, table)), table
    assert again.outlier_asset_ids != other.outlier_asset_ids


def test_tiny_spans_a_month_boundary_and_several_weeks(
    con: duckdb.DuckDBPyConnection, summary: GenerateSummary
) -> None:
    days = con.execute(
        "SELECT min(event_time)::DATE, max(event_time)::DATE,"
        " count(DISTINCT date_trunc('month', event_time)),"
        " count(DISTINCT date_trunc('week', event_time)) FROM clean_imp"
    ).fetchone()
    assert days is not None
    first, last, months, weeks = days
    assert first == summary.start and last == summary.end
    assert months >= 2 and weeks >= 3
    assert (summary.end - summary.start).days + 1 == summary.days >= 14


def test_catalog_and_audience_look_real(con: duckdb.DuckDBPyConnection) -> None:
    assert _one(con, "SELECT count(DISTINCT kind) FROM titles") >= 2
    assert (
        _one(con, "SELECT count(*) FROM titles WHERE kind NOT IN ('series','film','live','game')")
        == 0
    )
    assert _one(con, "SELECT max(len(genres)) FROM titles") <= 3
    assert _one(con, "SELECT min(len(genres)) FROM titles") >= 1
    assert _one(con, "SELECT count(*) FROM assets WHERE asset_type NOT IN ('artwork','video')") == 0
    assert _one(con, "SELECT count(DISTINCT asset_type) FROM assets") == 2
    assert _one(con, "SELECT count(*) FROM assets WHERE media_url IS NULL") >= 1
    assert (
        _one(con, "SELECT count(*) FROM assets WHERE title_id NOT IN (SELECT title_id FROM titles)")
        == 0
    )
    # member ids: unique, positive, spread over the int64 range (not 1..n)
    assert _one(con, "SELECT count(*) - count(DISTINCT member_id) FROM members") == 0
    assert _one(con, "SELECT min(member_id) > 0 FROM members") == 1
    assert _one(con, "SELECT max(member_id) > 1e15 FROM members") == 1
    assert (
        _one(con, "SELECT count(*) FROM members WHERE NOT regexp_full_match(country, '[A-Z]{2}')")
        == 0
    )
    assert _one(con, "SELECT count(DISTINCT country) FROM members") >= 20
    assert _one(con, "SELECT max(len(affinities)) FROM members") == 4
    assert _one(con, "SELECT count(*) FROM members WHERE len(affinities) = 0") > 0
    assert _one(con, "SELECT count(DISTINCT a) FROM members, unnest(affinities) t(a)") >= 20


def test_no_event_before_its_title_launches(con: duckdb.DuckDBPyConnection) -> None:
    assert (
        _one(
            con,
            "SELECT count(*) FROM clean_imp i JOIN titles t USING (title_id) "
            "WHERE i.event_time < t.launch_date",
        )
        == 0
    )
    assert (
        _one(
            con,
            "SELECT count(*) FROM clean_play p JOIN titles t USING (title_id) "
            "WHERE p.event_time < t.launch_date",
        )
        == 0
    )
    # launches are spread: some before the period, some inside it, with impressions after
    assert (
        _one(
            con,
            "SELECT count(*) FROM titles WHERE launch_date < "
            "(SELECT min(event_time)::DATE FROM clean_imp)",
        )
        > 0
    )
    assert (
        _one(
            con,
            "SELECT count(DISTINCT title_id) FROM clean_imp JOIN titles USING "
            "(title_id) WHERE launch_date > (SELECT min(event_time)::DATE "
            "FROM clean_imp)",
        )
        > 0
    )


def test_every_defect_kind_is_present_and_counted(
    con: duckdb.DuckDBPyConnection, summary: GenerateSummary
) -> None:
    truth = {
        ("impressions", "unknown_asset"): "SELECT count(*) FROM impressions "
        "WHERE asset_id NOT IN (SELECT asset_id FROM assets)",
        ("impressions", "null_member"): "SELECT count(*) FROM impressions WHERE member_id IS NULL",
        ("impressions", "bad_country"): "SELECT count(*) FROM impressions "
        "WHERE country IS NULL OR NOT regexp_full_match(country, '[A-Z]{2}')",
        ("impressions", "null_event_time"): "SELECT count(*) FROM impressions "
        "WHERE event_time IS NULL",
        ("playbacks", "unknown_title"): "SELECT count(*) FROM playbacks "
        "WHERE title_id NOT IN (SELECT title_id FROM titles)",
        ("playbacks", "null_member"): "SELECT count(*) FROM playbacks WHERE member_id IS NULL",
        ("playbacks", "negative_duration"): "SELECT count(*) FROM playbacks WHERE duration_s < 0",
        ("playbacks", "null_event_time"): "SELECT count(*) FROM playbacks WHERE event_time IS NULL",
    }
    for (table, kind), sql in truth.items():
        n = _one(con, sql)
        assert n >= 1, (table, kind)
        assert summary.invalid[table][kind] == n, (table, kind)
    # the bad country codes include a null, a lower-case code and a 3-letter code
    bad = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT country FROM impressions WHERE "
            "country IS NULL OR NOT regexp_full_match(country, "
            "'[A-Z]{2}')"
        ).fetchall()
    }
    assert len(bad) >= 3


@pytest.mark.parametrize(
    ("table", "key"), [("impressions", "impression_id"), ("playbacks", "playback_id")]
)
def test_duplicates_null_ids_and_unlisted_members(
    con: duckdb.DuckDBPyConnection, summary: GenerateSummary, table: str, key: str
) -> None:
    extra = _one(con, f"SELECT count({key}) - count(DISTINCT {key}) FROM {table}")
    assert extra == summary.duplicates[table] >= 1
    # a repeated id is a verbatim repeat of the whole row
    assert (
        _one(
            con,
            f"SELECT count(*) FROM (SELECT {key} FROM {table} WHERE {key} IS NOT NULL"
            f" GROUP BY {key} HAVING count(DISTINCT {table}) > 1)",
        )
        == 0
    )
    share = _one(con, f"SELECT 1e6 * ({extra}) / count(*) FROM {table}") / 1e6
    assert 0.001 < share < 0.02
    nulls = _one(con, f"SELECT count(*) FROM {table} WHERE {key} IS NULL")
    assert nulls == summary.null_ids[table] >= 1
    unlisted = _one(
        con,
        f"SELECT count(*) FROM {table} WHERE member_id IS NOT NULL AND "
        "member_id NOT IN (SELECT member_id FROM members)",
    )
    assert unlisted == summary.unlisted_member_rows[table] >= 1


def test_playbacks_mix_attributed_late_and_unprompted(con: duckdb.DuckDBPyConnection) -> None:
    plays = _one(con, "SELECT count(*) FROM clean_play")
    attributed = _one(con, "SELECT count(*) FROM attributed")
    assert 0.75 * plays < attributed < plays  # most, not all, follow an impression in 24 h
    impressions = _one(con, "SELECT count(*) FROM clean_imp")
    assert 0.05 < plays / impressions < 0.25
    carried = _one(con, "SELECT count(asset_id) FROM clean_play")
    assert 0.1 * plays < carried < 0.5 * plays
    # a carried asset is always an asset of the playback's title
    assert (
        _one(
            con,
            "SELECT count(*) FROM clean_play p JOIN assets a USING (asset_id) "
            "WHERE a.title_id <> p.title_id",
        )
        == 0
    )
    short, engaged = con.execute(
        "SELECT avg((duration_s < 120)::INT), avg((duration_s >= 900)::INT) FROM clean_play"
    ).fetchone() or (0, 0)
    assert 0.1 < short < 0.6 and 0.2 < engaged < 0.7


def test_impressions_mostly_in_the_members_home_country(con: duckdb.DuckDBPyConnection) -> None:
    home = con.execute(
        "SELECT avg((i.country = m.country)::INT) FROM clean_imp i JOIN members m USING (member_id)"
    ).fetchone()
    assert home is not None and 0.9 < home[0] < 1.0  # a few travellers


def test_matching_affinity_raises_take_rate(con: duckdb.DuckDBPyConnection) -> None:
    rows = dict(
        con.execute(
            """
            WITH member_genres AS (
                SELECT DISTINCT m.member_id, g.genre
                FROM members m, unnest(m.affinities) u(affinity)
                JOIN affinity_genres g ON g.affinity = u.affinity),
            title_genres AS (SELECT DISTINCT title_id, unnest(genres) AS genre FROM titles),
            matched AS (SELECT DISTINCT member_id, title_id
                        FROM member_genres JOIN title_genres USING (genre)),
            shown AS (SELECT DISTINCT member_id, title_id
                      FROM clean_imp JOIN members USING (member_id)),
            played AS (SELECT DISTINCT member_id, title_id FROM attributed
                       WHERE duration_s >= 120)
            SELECT m.member_id IS NOT NULL, avg((p.member_id IS NOT NULL)::INT)
            FROM shown s
            LEFT JOIN matched m USING (member_id, title_id)
            LEFT JOIN played p USING (member_id, title_id)
            GROUP BY 1
            """
        ).fetchall()
    )
    assert rows[True] > 1.5 * rows[False]


def _asset_metrics(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[float, float | None]]:
    """Per asset with ≥ 100 impressions: (distinct players / distinct viewers, engaged share
    of its qualified plays)."""
    rows = con.execute(
        """
        WITH viewers AS (SELECT asset_id, count(DISTINCT member_id) AS viewers, count(*) AS n
                         FROM clean_imp GROUP BY 1),
        players AS (SELECT imp_asset AS asset_id, count(DISTINCT member_id) AS players,
                           avg((duration_s >= 900)::INT) AS authenticity
                    FROM attributed WHERE duration_s >= 120 GROUP BY 1)
        SELECT asset_id, coalesce(players, 0) / viewers, authenticity
        FROM viewers LEFT JOIN players USING (asset_id) WHERE n >= 100
        """
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def test_planted_outliers_have_a_low_take_rate(
    con: duckdb.DuckDBPyConnection, summary: GenerateSummary
) -> None:
    metrics = _asset_metrics(con)
    median = _median([take for take, _ in metrics.values()])
    assert summary.outlier_asset_ids
    for asset in summary.outlier_asset_ids:
        assert asset in metrics, asset  # planted where there is traffic
        assert metrics[asset][0] < 0.5 * median, asset


def test_planted_clickbait_draws_players_who_do_not_stay(
    con: duckdb.DuckDBPyConnection, summary: GenerateSummary
) -> None:
    metrics = _asset_metrics(con)
    median_take = _median([take for take, _ in metrics.values()])
    median_auth = _median([a for _, a in metrics.values() if a is not None])
    assert summary.clickbait_asset_ids
    assert not set(summary.clickbait_asset_ids) & set(summary.outlier_asset_ids)
    for asset in summary.clickbait_asset_ids:
        take, authenticity = metrics[asset]
        assert take > 1.5 * median_take, asset
        assert authenticity is not None and authenticity < min(0.2, 0.5 * median_auth), asset


def test_scale_multiplies_members_and_events(tmp_path: Path, summary: GenerateSummary) -> None:
    half = generate("tiny", tmp_path / "half", seed=7, scale=0.5)
    members = pq.read_table(tmp_path / "half" / "members.parquet").num_rows
    assert members == half.members == pytest.approx(summary.members / 2, rel=0.01)
    assert half.impressions == pytest.approx(summary.impressions / 2, rel=0.05)
    assert (half.titles, half.assets) == (summary.titles, summary.assets)


def test_cli_writes_a_raw_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-raw"
    assert cli_main(["generate", "--profile", "tiny", "--out", str(out), "--seed", "3"]) == 0
    for table in RAW_TABLES:
        assert _files(out, table) and all(f.stat().st_size > 0 for f in _files(out, table))
    planted = json.loads((out / gen.PLANTED_FILE).read_text())
    assert planted["seed"] == 3 and planted["profile"] == "tiny"
    printed = capsys.readouterr().out
    assert "impressions" in printed and planted["outlier_asset_ids"][0] in printed


def test_cli_rejects_a_bad_scale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bad"
    assert cli_main(["generate", "--out", str(out), "--scale", "0"]) == 2
    assert "scale" in capsys.readouterr().err
    assert not out.exists()


def test_regenerating_replaces_the_directory_and_leaves_no_staging(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    generate("tiny", out, seed=1)
    generate("tiny", out, seed=2)
    assert json.loads((out / gen.PLANTED_FILE).read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_refuses_to_overwrite_a_directory_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="precious"):
        generate("tiny", out)
    assert (out / "notes.txt").read_text() == "keep me"


def test_a_failed_run_leaves_nothing_that_looks_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(gen, "playbacks_table", broken)
    with pytest.raises(OSError, match="disk full"):
        generate("tiny", tmp_path / "raw")
    assert list(tmp_path.iterdir()) == []


def test_unknown_profile_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="huge"):
        generate("huge", tmp_path / "raw")
