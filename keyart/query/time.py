"""UTC day bucketing shared by every backend: ISO weeks start Monday, months on the 1st."""

from __future__ import annotations

from datetime import date, timedelta

from keyart.query.ir import Granularity, Interval


def bucket_start(day: date, granularity: Granularity, interval: Interval) -> date:
    """The start of the bucket holding `day`; for ALL, the interval's start."""
    if granularity is Granularity.DAY:
        return day
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return interval.start


def buckets(interval: Interval, granularity: Granularity) -> list[date]:
    """Every bucket start that overlaps the interval, in order (for zero-filled series)."""
    seen: list[date] = []
    day = interval.start
    while day <= interval.end:
        start = bucket_start(day, granularity, interval)
        if not seen or seen[-1] != start:
            seen.append(start)
        day += timedelta(days=1)
    return seen
