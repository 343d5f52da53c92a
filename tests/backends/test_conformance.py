"""The conformance suite: every backend (tests/backends/targets.py — embedded over day files
and over its serving copy, legacy over both, Druid on both datasource plans) answers the
same questions, checked against the exact truth of the events behind each data set
(handmade.oracle: plain Python, sharing no code with any backend).

Counts must equal the truth; distinct counts must equal it (exact backends) or hold it
within their bounds (sketch backends: always on the hand-built data, whose groups are
small enough for exact sketch modes; in ≥95% of groups on the ETL's tiny data).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from keyart.backends.base import Backend
from keyart.query.ir import Dimension, Filter, Granularity, Interval, MetricQuery
from keyart.query.results import QueryResult
from tests.backends import handmade
from tests.backends.cases import EMPTY_CASES, cases, fine_grained
from tests.backends.conftest import Subject
from tests.backends.targets import params

CASE_NAMES = sorted(cases(handmade.UNIVERSE))
# share of sketch groups whose bounds may miss the exact distinct count (~95% bounds)
MISS_RATE = 0.05


def check(subject: Subject, result: QueryResult, query: MetricQuery) -> handmade.Comparison:
    """Assert a backend's answer equals the truth of the subject's data, as its kind can:
    groups and counts exactly; distinct counts exactly, or inside their bounds."""
    data, exact = subject.data, subject.target.exact
    cmp = handmade.compare(result, handmade.oracle(data.events, query), query, exact=exact)
    if not exact:
        allowed = 0 if data.small_groups else MISS_RATE * max(cmp.distinct_checked, 1)
        assert cmp.distinct_outside <= allowed, (cmp, allowed)
    return cmp


# ---------------------------------------------------------------- every case, every data set


@pytest.mark.parametrize("name", CASE_NAMES)
async def test_case_matches_truth(backend: Backend, subject: Subject, name: str) -> None:
    query = cases(subject.data.universe)[name]
    if name not in EMPTY_CASES:
        # the case bites: the data holds rows for it (else a wrong filter could pass)
        assert handmade.oracle(subject.data.events, query), f"case {name} finds no data"
    check(subject, await backend.execute(query), query)


async def test_fine_grained_matches_truth(backend: Backend, subject: Subject) -> None:
    """Many small groups (asset × country × day): every count, and the distinct-count
    bounds over a thousand groups and more."""
    query = fine_grained(subject.data.universe)
    result = await backend.execute(query)
    cmp = check(subject, result, query)
    many = 100 if subject.data.small_groups else 1000
    assert len(result.rows) > many
    if not subject.target.exact:
        assert cmp.distinct_checked > 5 * many


async def test_title_distincts_span_assets(tiny_backend: Backend, tiny_subject: Subject) -> None:
    """A title's unique impressions count each member once across its assets (union of
    sketches), not the sum over assets."""
    data = tiny_subject.data
    whole = cases(data.universe)["total"].interval
    title = data.universe.titles[0]
    by_title = await tiny_backend.execute(MetricQuery(whole, filter=Filter(title_ids=(title,))))
    by_asset = await tiny_backend.execute(
        MetricQuery(whole, filter=Filter(title_ids=(title,)), group_by=(Dimension.ASSET,))
    )
    exact = len({e.member for e in data.events.impressions if e.title == title})
    est = by_title.rows[0].metrics.unique_impressions
    assert est.lower <= exact <= est.upper
    summed = sum(r.metrics.unique_impressions.value for r in by_asset.rows)
    assert summed > est.upper  # members see several assets of a title


# ---------------------------------------------------------------- shared behaviour


def test_is_a_backend(handmade_backend: Backend) -> None:
    assert isinstance(handmade_backend, Backend)


def assert_alike(first: QueryResult, second: QueryResult, query: MetricQuery) -> None:
    """Same groups, equal counts, each distinct estimate inside the other's bounds."""
    one = {(r.bucket, r.dims): r.metrics for r in first.rows}
    two = {(r.bucket, r.dims): r.metrics for r in second.rows}
    assert set(one) == set(two)
    for key, a in one.items():
        b = two[key]
        for metric in query.metrics:
            x, y = getattr(a, metric.value), getattr(b, metric.value)
            if metric.is_sketch:
                assert y.lower <= x.value <= y.upper and x.lower <= y.value <= x.upper, key
            else:
                assert x == y, (key, metric)


async def test_ping_and_concurrent_queries(
    handmade_backend: Backend, handmade_subject: Subject
) -> None:
    await handmade_backend.ping()
    queries = [handmade.CASES[n] for n in CASE_NAMES]
    results = await asyncio.gather(*(handmade_backend.execute(q) for q in queries))
    again = [await handmade_backend.execute(q) for q in queries]
    if handmade_subject.target.repeatable:
        assert results == again
    for query, first, second in zip(queries, results, again, strict=True):
        assert_alike(first, second, query)


async def test_affinity_groups_do_not_multiply_the_total(
    handmade_backend: Backend, handmade_subject: Subject
) -> None:
    events = handmade_subject.data.events
    whole = handmade.CASES["total"].interval
    total = (await handmade_backend.execute(MetricQuery(whole))).rows[0].metrics
    by_label = MetricQuery(whole, group_by=(Dimension.AFFINITY,))
    grouped = (await handmade_backend.execute(by_label)).rows
    labelled = sum(1 for e in events.impressions if e.labels)
    multi = sum(len(e.labels) for e in events.impressions)
    assert total.impressions == len(events.impressions)
    # one group per label a row carries; label-less members form no group
    assert sum(r.metrics.impressions for r in grouped) == multi
    assert {r.get(Dimension.AFFINITY) for r in grouped} == set(handmade.LABELS)
    any_label = MetricQuery(whole, filter=Filter(affinities=handmade.LABELS))
    assert (await handmade_backend.execute(any_label)).rows[0].metrics.impressions == labelled


async def test_affinity_grouping_with_filter_is_list_filtered(
    handmade_backend: Backend, handmade_subject: Subject
) -> None:
    events = handmade_subject.data.events
    query = MetricQuery(
        handmade.CASES["total"].interval,
        filter=Filter(affinities=("y",)),
        group_by=(Dimension.AFFINITY,),
    )
    rows = (await handmade_backend.execute(query)).rows
    assert [r.get(Dimension.AFFINITY) for r in rows] == ["y"]
    assert rows[0].metrics.impressions == sum(1 for e in events.impressions if "y" in e.labels)


async def test_week_and_month_buckets_are_dated_at_their_start(handmade_backend: Backend) -> None:
    first = handmade.FIRST_DAY
    window = Interval(first + timedelta(days=2), first + timedelta(days=9))
    weeks = await handmade_backend.execute(MetricQuery(window, Granularity.WEEK))
    assert [r.bucket for r in weeks.rows] == [first, first + timedelta(7)]
    months = await handmade_backend.execute(MetricQuery(window, Granularity.MONTH))
    assert [r.bucket for r in months.rows] == [
        window.start.replace(day=1),
        window.end.replace(day=1),
    ]


async def test_empty_filter_list_matches_nothing(handmade_backend: Backend) -> None:
    query = MetricQuery(handmade.CASES["total"].interval, filter=Filter(countries=()))
    assert (await handmade_backend.execute(query)).rows == ()


async def test_user_values_are_bound_not_spliced(handmade_backend: Backend) -> None:
    hostile = "US') OR TRUE OR ('"
    query = MetricQuery(
        handmade.CASES["total"].interval, filter=Filter(countries=(hostile, "x'", '"US"'))
    )
    assert (await handmade_backend.execute(query)).rows == ()


@pytest.mark.parametrize(
    "handmade_subject",
    params(("handmade",), lambda target: target.copy_skips_catalog_wide),
    indirect=True,
)
@pytest.mark.parametrize("name", CASE_NAMES)
async def test_serving_copy_answers_every_case(
    handmade_backend: Backend, handmade_subject: Subject, name: str
) -> None:
    """Catalog-wide queries read the day files (embedded plan.catalog_wide); listing every
    asset asks the same question of the serving copy, whose tables must answer it alike."""
    query = handmade.CASES[name]
    if query.filter.asset_ids is None:
        query = dataclasses.replace(query, filter=query.filter.replace_assets(handmade.ASSETS))
    check(handmade_subject, await handmade_backend.execute(query), query)


# ---------------------------------------------------------------- the data sets themselves


def test_filter_cases_bite_on_the_handmade_data(handmade_events: handmade.Dataset) -> None:
    """The exclusion and all-of / none-of cases select a real, proper part of the data,
    and none-of keeps the events of members without labels while all-of drops them."""
    cases_ = handmade.CASES
    everything = sum(
        t.impressions for t in handmade.oracle(handmade_events, cases_["total"]).values()
    )
    for name in ("exclude_country", "all_of_two", "none_of_one", "any_and_none", "any_and_all"):
        kept = sum(t.impressions for t in handmade.oracle(handmade_events, cases_[name]).values())
        assert 0 < kept < everything, name
    labelless = [e for e in handmade_events.impressions if not e.labels]
    assert labelless
    assert all(handmade.matches(e, cases_["none_of_one"]) for e in labelless)
    assert not any(handmade.matches(e, cases_["all_of_one"]) for e in labelless)
    assert cases_["none_of_one"].filter.exclude_affinities == (handmade.UNIVERSE.labels[0],)
