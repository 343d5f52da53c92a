"""keyart's example query (README, `keyart demo`, GraphiQL), with windows inside the data."""

from __future__ import annotations

from datetime import date, timedelta

from keyart.store.model import DataRange

RECENT_DAYS = 30  # the per-country window: the last month of data
MAX_AFFINITY_DAYS = 366  # the affinity window: all the data, within the default window limit

EXAMPLE_QUERY = """query Example {{
  titles(first: 1) {{ edges {{ node {{ id name
    assets {{ id type name
      allTime {{ impressions uniqueImpressions {{ value lower upper }} takeRate {{ value }} }}
      metrics(window: {{start: "{recent}", end: "{last}"}}, filter: {{countries: ["US"]}}) {{
        impressions qualifiedPlays uniquePlayers {{ value lower upper }} authenticity }}
      byAffinity(window: {{start: "{first}", end: "{last}"}}, top: 3) {{
        affinity lift metrics {{ uniqueImpressions {{ value }} }} }}
    }} }} }} }}
  dataRange {{ first last days }}
  dataVersion
}}
"""


def example_query(covered: DataRange | None, today: date | None = None) -> str:
    """The example query over the data's last 30 days and (for affinities) all its days;
    without data, over the days up to `today`."""
    if covered is None:
        last = today if today is not None else date.today()
        first = last - timedelta(days=89)
    else:
        first, last = covered.first, covered.last
    first = max(first, last - timedelta(days=MAX_AFFINITY_DAYS - 1))
    recent = max(first, last - timedelta(days=RECENT_DAYS - 1))
    return EXAMPLE_QUERY.format(
        first=first.isoformat(), recent=recent.isoformat(), last=last.isoformat()
    )


__all__ = ["example_query"]
