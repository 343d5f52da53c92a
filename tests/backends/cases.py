"""IR queries exercising every semantic corner (buckets, windows, filters, affinities),
parametrised by the assets, titles and labels of the data under test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from keyart.query.ir import Dimension, Filter, Granularity, Interval, Metric, MetricQuery

D = Dimension
G = Granularity


@dataclass(frozen=True, slots=True)
class Universe:
    """What the data holds: its first day, number of days and some values to filter on."""

    first_day: date
    n_days: int
    assets: tuple[str, ...]  # at least 3, the first most active
    titles: tuple[str, ...]  # at least 2
    countries: tuple[str, ...]  # at least 2
    labels: tuple[str, ...]  # at least 3


# cases that find nothing on purpose (every other case finds data in any test dataset)
EMPTY_CASES = frozenset(
    {"before_data", "unknown_country", "all_of_unknown_label", "required_and_excluded"}
)


def _next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def cases(u: Universe) -> dict[str, MetricQuery]:
    """Named queries over the universe; windows start mid-week and mid-month on purpose."""
    whole = Interval(u.first_day, u.first_day + timedelta(days=u.n_days - 1))
    wed = _next_weekday(u.first_day + timedelta(days=1), 2)  # a Wednesday inside the data
    mid_week = Interval(wed, min(whole.end, wed + timedelta(days=20)))
    # starts after the 1st, so its first bucket is dated before the window
    mid_month_start = whole.start if whole.start.day != 1 else whole.start + timedelta(days=9)
    mid_month = Interval(mid_month_start, whole.end)
    one_day = Interval(whole.start + timedelta(days=3), whole.start + timedelta(days=3))
    a, b, c = u.assets[:3]
    x, y, z = u.labels[:3]
    return {
        "total": MetricQuery(whole),
        "by_asset": MetricQuery(whole, group_by=(D.ASSET,)),
        "by_title_country": MetricQuery(whole, group_by=(D.TITLE, D.COUNTRY)),
        "by_type": MetricQuery(whole, group_by=(D.ASSET_TYPE,)),
        "daily_one_asset": MetricQuery(whole, G.DAY, Filter(asset_ids=(a,))),
        "weekly_mid_week": MetricQuery(
            mid_week, G.WEEK, Filter(asset_ids=(a, b)), group_by=(D.ASSET,)
        ),
        "monthly_mid_month": MetricQuery(mid_month, G.MONTH, group_by=(D.COUNTRY,)),
        "one_day": MetricQuery(one_day, G.DAY, group_by=(D.ASSET,)),
        "title_page": MetricQuery(
            whole,
            filter=Filter(asset_ids=(a, b, c), countries=u.countries[:2]),
            group_by=(D.ASSET,),
        ),
        "title_filter": MetricQuery(whole, G.WEEK, Filter(title_ids=u.titles[:1])),
        "type_filter": MetricQuery(
            whole, filter=Filter(asset_types=("video",)), group_by=(D.TITLE,)
        ),
        "affinity_one": MetricQuery(whole, filter=Filter(affinities=(x,)), group_by=(D.ASSET,)),
        "affinity_two": MetricQuery(whole, filter=Filter(affinities=(x, z))),
        "affinity_two_daily": MetricQuery(whole, G.DAY, Filter(asset_ids=(a,), affinities=(y, z))),
        "by_affinity": MetricQuery(whole, filter=Filter(asset_ids=(a,)), group_by=(D.AFFINITY,)),
        "by_affinity_listed": MetricQuery(
            whole, G.WEEK, Filter(affinities=(y, z)), group_by=(D.COUNTRY, D.AFFINITY)
        ),
        "by_affinity_one_label": MetricQuery(
            mid_month, filter=Filter(affinities=(x,)), group_by=(D.AFFINITY, D.ASSET)
        ),
        "unique_players_only": MetricQuery(
            whole, G.WEEK, group_by=(D.ASSET,), metrics=(Metric.UNIQUE_PLAYERS,)
        ),
        "impressions_only": MetricQuery(
            whole,
            filter=Filter(affinities=(x, y)),
            group_by=(D.COUNTRY,),
            metrics=(Metric.IMPRESSIONS, Metric.UNIQUE_IMPRESSIONS),
        ),
        "plays_only_by_affinity": MetricQuery(
            whole,
            G.MONTH,
            group_by=(D.AFFINITY,),
            metrics=(Metric.QUALIFIED_PLAYS, Metric.PLAY_SECONDS, Metric.ENGAGED_PLAYS),
        ),
        "before_data": MetricQuery(
            Interval(whole.start - timedelta(days=30), whole.start - timedelta(days=1))
        ),
        "unknown_country": MetricQuery(whole, filter=Filter(countries=("ZZ",))),
        # exclusions and all-of / none-of labels (issue 19); a member without a profile
        # has no labels: none-of keeps its events, all-of drops them
        "exclude_country": MetricQuery(
            whole, filter=Filter(exclude_countries=u.countries[:1]), group_by=(D.COUNTRY,)
        ),
        "exclude_countries_total": MetricQuery(
            mid_week, G.WEEK, Filter(exclude_countries=u.countries[:2])
        ),
        "countries_minus_excluded": MetricQuery(
            whole,
            filter=Filter(countries=u.countries[:2], exclude_countries=u.countries[:1]),
            group_by=(D.ASSET,),
        ),
        "all_of_one": MetricQuery(whole, G.WEEK, Filter(affinities_all=(x,))),
        "all_of_two": MetricQuery(whole, filter=Filter(affinities_all=(x, y)), group_by=(D.ASSET,)),
        "none_of_one": MetricQuery(
            whole, filter=Filter(exclude_affinities=(x,)), group_by=(D.COUNTRY,)
        ),
        "none_of_two_daily": MetricQuery(
            whole, G.DAY, Filter(asset_ids=(a,), exclude_affinities=(x, y))
        ),
        "any_and_none": MetricQuery(
            whole, filter=Filter(affinities=(x, y), exclude_affinities=(z,)), group_by=(D.TITLE,)
        ),
        "any_and_all": MetricQuery(whole, filter=Filter(affinities=(x, z), affinities_all=(y,))),
        "all_and_none_by_affinity": MetricQuery(
            whole,
            filter=Filter(affinities_all=(x,), exclude_affinities=(z,)),
            group_by=(D.AFFINITY,),
        ),
        "all_of_two_by_affinity_asset": MetricQuery(
            mid_month, filter=Filter(affinities_all=(x, y)), group_by=(D.AFFINITY, D.ASSET)
        ),
        "listed_minus_excluded_by_affinity": MetricQuery(
            whole,
            G.MONTH,
            Filter(affinities=(x, y), exclude_affinities=(y,)),
            group_by=(D.AFFINITY, D.COUNTRY),
        ),
        "none_of_by_affinity": MetricQuery(
            whole, filter=Filter(exclude_affinities=(y,)), group_by=(D.AFFINITY,)
        ),
        "everything_combined": MetricQuery(
            whole,
            G.WEEK,
            Filter(
                asset_types=("artwork", "video"),
                exclude_countries=u.countries[1:2],
                affinities=(x, y, z),
                affinities_all=(y,),
                exclude_affinities=(x,),
            ),
            group_by=(D.TITLE,),
        ),
        "plays_only_none_of_by_country": MetricQuery(
            whole,
            filter=Filter(exclude_affinities=(z,), exclude_countries=u.countries[:1]),
            group_by=(D.COUNTRY,),
            metrics=(Metric.QUALIFIED_PLAYS, Metric.UNIQUE_PLAYERS, Metric.ENGAGED_PLAYS),
        ),
        "none_of_unknown_label": MetricQuery(
            whole, filter=Filter(exclude_affinities=("no such label",)), group_by=(D.ASSET,)
        ),
        "all_of_unknown_label": MetricQuery(
            whole, filter=Filter(affinities_all=(x, "no such label"))
        ),
        # rankings leave out groups below an impression count (before merging sketches)
        "ranking_min_impressions": MetricQuery(
            mid_week,
            filter=Filter(countries=u.countries[:1], affinities=(x,)),
            group_by=(D.ASSET,),
            min_impressions=20,
        ),
        "ranking_min_impressions_none_of": MetricQuery(
            whole,
            G.WEEK,
            Filter(exclude_affinities=(y,)),
            group_by=(D.ASSET, D.COUNTRY),
            min_impressions=20,
        ),
        "required_and_excluded": MetricQuery(
            whole, filter=Filter(affinities_all=(x,), exclude_affinities=(x,))
        ),
    }


def fine_grained(u: Universe) -> MetricQuery:
    """Many small groups (asset × country × day), for distinct-count bound coverage."""
    whole = Interval(u.first_day, u.first_day + timedelta(days=u.n_days - 1))
    return MetricQuery(whole, G.DAY, group_by=(D.ASSET, D.COUNTRY))
