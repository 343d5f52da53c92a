from datetime import date, timedelta

from keyart.query import Granularity, Interval, bucket_start, buckets


def test_week_buckets_start_on_monday_even_when_the_window_starts_midweek() -> None:
    window = Interval(date(2026, 1, 1), date(2026, 1, 14))  # a Thursday to a Wednesday
    assert [d.isoformat() for d in buckets(window, Granularity.WEEK)] == [
        "2025-12-29",
        "2026-01-05",
        "2026-01-12",
    ]
    for d in buckets(window, Granularity.WEEK):
        assert d.weekday() == 0


def test_month_buckets_start_on_the_first() -> None:
    window = Interval(date(2026, 1, 20), date(2026, 3, 2))
    assert buckets(window, Granularity.MONTH) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert bucket_start(date(2026, 2, 28), Granularity.MONTH, window) == date(2026, 2, 1)


def test_day_and_all_buckets() -> None:
    window = Interval(date(2026, 2, 27), date(2026, 3, 2))
    days = buckets(window, Granularity.DAY)
    assert days == [window.start + timedelta(days=i) for i in range(window.days)]
    assert buckets(window, Granularity.ALL) == [window.start]
    assert bucket_start(date(2026, 3, 1), Granularity.ALL, window) == window.start


def test_iso_week_matches_isocalendar_over_a_year() -> None:
    window = Interval(date(2026, 1, 1), date(2026, 12, 31))
    day = window.start
    while day <= window.end:
        start = bucket_start(day, Granularity.WEEK, window)
        assert start.isocalendar()[:2] == day.isocalendar()[:2]
        assert start.isocalendar()[2] == 1
        day += timedelta(days=1)
