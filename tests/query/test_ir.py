from datetime import date

import pytest

from keyart.errors import BadUserInput
from keyart.query import Dimension, Filter, Granularity, Interval, Metric, MetricQuery


def test_interval_is_inclusive_and_rejects_end_before_start() -> None:
    assert Interval(date(2026, 1, 1), date(2026, 1, 31)).days == 31
    assert Interval(date(2026, 1, 1), date(2026, 1, 1)).end_exclusive == date(2026, 1, 2)
    with pytest.raises(BadUserInput, match="before its start"):
        Interval(date(2026, 1, 2), date(2026, 1, 1))


def test_filter_normalises_so_equal_questions_share_a_cache_key() -> None:
    window = Interval(date(2026, 1, 1), date(2026, 1, 7))
    a = MetricQuery(window, filter=Filter(countries=("US", "BR", "US")))
    b = MetricQuery(window, filter=Filter(countries=["BR", "US"]))  # type: ignore[arg-type]
    assert a == b
    assert a.cache_key() == b.cache_key()
    assert a.filter.countries == ("BR", "US")
    assert MetricQuery(window, filter=Filter(countries=("US",))).cache_key() != a.cache_key()


def test_filter_none_is_unconstrained_and_empty_is_kept() -> None:
    f = Filter(asset_ids=(), affinities=("Anime fans",))
    assert f.constraints() == {Dimension.ASSET: (), Dimension.AFFINITY: ("Anime fans",)}
    assert f.replace_assets(["b", "a"]).asset_ids == ("a", "b")
    assert f.replace_assets(["b"]).affinities == ("Anime fans",)


def test_metrics_are_ordered_and_group_by_must_not_repeat() -> None:
    window = Interval(date(2026, 1, 1), date(2026, 1, 7))
    q = MetricQuery(window, metrics=(Metric.UNIQUE_PLAYERS, Metric.IMPRESSIONS))
    assert q.metrics == (Metric.IMPRESSIONS, Metric.UNIQUE_PLAYERS)
    assert Metric.UNIQUE_PLAYERS.is_sketch and not Metric.IMPRESSIONS.is_sketch
    with pytest.raises(BadUserInput, match="repeats"):
        MetricQuery(window, group_by=(Dimension.ASSET, Dimension.ASSET))
    with pytest.raises(BadUserInput, match="at least one metric"):
        MetricQuery(window, metrics=())
    assert MetricQuery(window, Granularity.WEEK).cache_key() != q.cache_key()


def test_filter_exclusions_normalise_and_own_their_meaning() -> None:
    window = Interval(date(2026, 1, 1), date(2026, 1, 7))
    # empty exclusions and an empty all-of constrain nothing
    assert Filter(exclude_countries=(), affinities_all=(), exclude_affinities=()) == Filter()
    # a listed country that is also excluded is dropped from the listed ones
    f = Filter(countries=("US", "BR"), exclude_countries=("US", "DE"))
    assert (f.countries, f.exclude_countries) == (("BR",), None)
    assert Filter(countries=("US",), exclude_countries=("US",)).matches_nothing
    # an excluded label cannot make an any-of match; the exclusion itself stays
    g = Filter(affinities=("a", "b"), exclude_affinities=("b",))
    assert (g.affinities, g.exclude_affinities) == (("a",), ("b",))
    assert Filter(affinities_all=("a", "b"), exclude_affinities=("b",)).matches_nothing
    assert not Filter(exclude_affinities=("b",)).matches_nothing
    # "the member has a" however it is spelt
    assert Filter(affinities=("a",)).single_label == "a"
    assert Filter(affinities_all=("a",)).single_label == "a"
    assert Filter(affinities=("a",), affinities_all=("a",)).single_label == "a"
    assert Filter(affinities=("a",), exclude_affinities=("b",)).single_label is None
    assert Filter(affinities_all=("a", "b")).member_level
    # exclusions are part of the cache key; batching keeps them
    q = MetricQuery(window, filter=Filter(exclude_affinities=("b",)))
    assert q.cache_key() != MetricQuery(window).cache_key()
    assert q.cache_key() != MetricQuery(window, filter=Filter(affinities_all=("b",))).cache_key()
    assert q.filter.replace_assets(["x"]).exclude_affinities == ("b",)
    assert q.filter.replace_titles(["t"]).exclude_affinities == ("b",)


def test_min_impressions_is_validated_and_keyed() -> None:
    window = Interval(date(2026, 1, 1), date(2026, 1, 7))
    q = MetricQuery(window, group_by=(Dimension.ASSET,), min_impressions=10)
    assert q.cache_key() != MetricQuery(window, group_by=(Dimension.ASSET,)).cache_key()
    with pytest.raises(BadUserInput, match="min_impressions must be >= 0"):
        MetricQuery(window, min_impressions=-1)
    with pytest.raises(BadUserInput, match="needs the impressions metric"):
        MetricQuery(window, metrics=(Metric.UNIQUE_PLAYERS,), min_impressions=1)


def test_query_says_what_it_uses_and_when_it_matches_nothing() -> None:
    window = Interval(date(2026, 1, 1), date(2026, 1, 7))
    assert MetricQuery(window, filter=Filter(asset_ids=())).matches_nothing
    assert MetricQuery(window, filter=Filter(affinities=(), countries=("US",))).matches_nothing
    assert not MetricQuery(window, filter=Filter(asset_ids=("a",))).matches_nothing
    assert not MetricQuery(window).matches_nothing
    required_and_excluded = Filter(affinities_all=("x",), exclude_affinities=("x",))
    assert MetricQuery(window, filter=required_and_excluded).matches_nothing
    assert MetricQuery(window, group_by=(Dimension.AFFINITY,)).uses_affinities
    assert MetricQuery(window, filter=Filter(exclude_affinities=("x",))).uses_affinities
    assert not MetricQuery(window, group_by=(Dimension.COUNTRY,)).uses_affinities
    assert MetricQuery(window, group_by=(Dimension.COUNTRY,)).uses_countries
    assert MetricQuery(window, filter=Filter(exclude_countries=("US",))).uses_countries
    assert not MetricQuery(window, filter=Filter(affinities=("x",))).uses_countries
