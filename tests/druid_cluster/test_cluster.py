"""Smoke test of the local Druid cluster (`make druid-up`): ingest, load, query with HLL sketches.

One tiny `index_parallel` task (inline input) builds HLL sketches of int64 member ids and a
multi-value `affinities` dimension; native groupBy/timeseries queries on the broker must then
return the exact counts and distinct-count bounds that contain the exact value, computed here
in plain Python from the same rows.
"""

from __future__ import annotations

import base64
import json
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import datasketches as ds
import httpx
import pytest

from tests.druid_support import DruidEndpoints, druid_endpoints_or_skip

pytestmark = pytest.mark.druid

LG_K = 14
DAYS = [date(2024, 3, 4) + timedelta(days=i) for i in range(3)]
INTERVAL = f"{DAYS[0].isoformat()}/{(DAYS[-1] + timedelta(days=1)).isoformat()}"
ASSETS = ("a1", "a2", "a3")
COUNTRIES = ("US", "BR", "DE")
LABELS = ("comedy fans", "drama fans", "k-drama fans", "anime fans")
TASK_TIMEOUT_S = 300.0
LOAD_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Event:
    """One impression row as sent to Druid."""

    day: date
    asset_id: str
    country: str
    member_id: int
    affinities: tuple[str, ...]


@dataclass(frozen=True)
class Loaded:
    """A datasource ingested for this module, with the rows it was built from."""

    endpoints: DruidEndpoints
    datasource: str
    events: tuple[Event, ...]


def make_events(seed: int = 11) -> tuple[Event, ...]:
    """Impressions of ~900 members (ids beyond 2**32) with 0-3 affinity labels each."""
    rng = random.Random(seed)
    members = {
        5_000_000_000 + i * 7919: tuple(sorted(rng.sample(LABELS, rng.randint(0, 3))))
        for i in range(900)
    }
    events = []
    for member, labels in members.items():
        for _ in range(rng.randint(1, 4)):
            events.append(
                Event(
                    day=rng.choice(DAYS),
                    asset_id=rng.choice(ASSETS),
                    country=rng.choice(COUNTRIES),
                    member_id=member,
                    affinities=labels,
                )
            )
    return tuple(events)


def ingestion_spec(datasource: str, events: tuple[Event, ...]) -> dict[str, Any]:
    """An index_parallel task with inline JSON rows, rolled up by day."""
    rows = "\n".join(
        json.dumps(
            {
                "ts": f"{e.day.isoformat()}T12:00:00Z",
                "asset_id": e.asset_id,
                "country": e.country,
                "affinities": list(e.affinities),
                "member_id": e.member_id,
            }
        )
        for e in events
    )
    return {
        "type": "index_parallel",
        "spec": {
            "dataSchema": {
                "dataSource": datasource,
                "timestampSpec": {"column": "ts", "format": "iso"},
                "dimensionsSpec": {
                    "dimensions": [
                        "asset_id",
                        "country",
                        {
                            "type": "string",
                            "name": "affinities",
                            "multiValueHandling": "SORTED_ARRAY",
                        },
                    ]
                },
                "metricsSpec": [
                    {"type": "count", "name": "impressions"},
                    {
                        "type": "HLLSketchBuild",
                        "name": "imp_sketch",
                        "fieldName": "member_id",
                        "lgK": LG_K,
                        "tgtHllType": "HLL_4",
                    },
                ],
                "granularitySpec": {
                    "segmentGranularity": "day",
                    "queryGranularity": "day",
                    "rollup": True,
                    "intervals": [INTERVAL],
                },
            },
            "ioConfig": {
                "type": "index_parallel",
                "inputSource": {"type": "inline", "data": rows},
                "inputFormat": {"type": "json"},
            },
            "tuningConfig": {"type": "index_parallel", "maxNumConcurrentSubTasks": 1},
        },
    }


def wait_for_task(client: httpx.Client, overlord: str, task_id: str) -> dict[str, Any]:
    """The final status of a task (fails the test on timeout)."""
    deadline = time.monotonic() + TASK_TIMEOUT_S
    while time.monotonic() < deadline:
        response = client.get(f"{overlord}/druid/indexer/v1/task/{task_id}/status")
        response.raise_for_status()
        status: dict[str, Any] = response.json()["status"]
        if status["statusCode"] in ("SUCCESS", "FAILED"):
            return status
        time.sleep(1.0)
    pytest.fail(f"task {task_id} did not finish within {TASK_TIMEOUT_S}s")


def native(client: httpx.Client, broker: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Run a native query on the broker."""
    response = client.post(f"{broker}/druid/v2", json=query)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def sketch_aggs() -> list[dict[str, Any]]:
    """The aggregations every query here uses."""
    return [
        {"type": "longSum", "name": "impressions", "fieldName": "impressions"},
        {
            "type": "HLLSketchMerge",
            "name": "imp_sketch",
            "fieldName": "imp_sketch",
            "lgK": LG_K,
            "tgtHllType": "HLL_4",
        },
    ]


BOUNDS = [
    {
        "type": "HLLSketchEstimateWithBounds",
        "name": "uniq",
        "field": {"type": "fieldAccess", "fieldName": "imp_sketch"},
        "numStdDev": 2,
    }
]


def total_query(datasource: str) -> dict[str, Any]:
    """Ungrouped total over the whole interval."""
    return {
        "queryType": "timeseries",
        "dataSource": datasource,
        "granularity": "all",
        "intervals": [INTERVAL],
        "aggregations": sketch_aggs(),
        "postAggregations": BOUNDS,
    }


@pytest.fixture(scope="module")
def loaded() -> Iterator[Loaded]:
    """Ingest the events once, wait until every row is queryable, drop the datasource after."""
    endpoints = druid_endpoints_or_skip()
    events = make_events()
    datasource = f"keyart_smoke_{uuid.uuid4().hex[:10]}"
    with httpx.Client(timeout=60.0) as client:
        response = client.post(
            f"{endpoints.overlord}/druid/indexer/v1/task", json=ingestion_spec(datasource, events)
        )
        assert response.status_code == 200, response.text
        task_id = response.json()["task"]
        status = wait_for_task(client, endpoints.overlord, task_id)
        assert status["statusCode"] == "SUCCESS", status
        # The task is done once segments are published; historicals load them shortly after.
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        seen = 0
        while time.monotonic() < deadline:
            rows = native(client, endpoints.broker, total_query(datasource))
            seen = rows[0]["result"]["impressions"] if rows else 0
            if seen == len(events):
                break
            time.sleep(1.0)
        else:
            pytest.fail(f"{datasource}: {seen} of {len(events)} rows queryable after load wait")
        yield Loaded(endpoints, datasource, events)
        # Mark unused, then delete the segments for good.
        client.delete(f"{endpoints.coordinator}/druid/coordinator/v1/datasources/{datasource}")
        client.post(
            f"{endpoints.overlord}/druid/indexer/v1/task",
            json={"type": "kill", "dataSource": datasource, "interval": INTERVAL},
        )


def assert_estimate(uniq: list[float], exact: int, what: str) -> None:
    """Estimate with bounds [est, low, high] must bracket the exact distinct count."""
    estimate, low, high = uniq
    assert low <= exact <= high, f"{what}: exact {exact} outside [{low}, {high}] (est {estimate})"
    assert abs(estimate - exact) <= 0.05 * exact + 1, f"{what}: estimate {estimate} vs {exact}"


def test_total_counts_each_impression_once(loaded: Loaded) -> None:
    with httpx.Client(timeout=60.0) as client:
        rows = native(client, loaded.endpoints.broker, total_query(loaded.datasource))
    result = rows[0]["result"]
    assert result["impressions"] == len(loaded.events)
    exact = len({e.member_id for e in loaded.events})
    assert_estimate(result["uniq"], exact, "total")


def test_group_by_day_and_asset(loaded: Loaded) -> None:
    query = {
        "queryType": "groupBy",
        "dataSource": loaded.datasource,
        "granularity": "day",
        "intervals": [INTERVAL],
        "dimensions": ["asset_id"],
        "aggregations": sketch_aggs(),
        "postAggregations": BOUNDS,
    }
    with httpx.Client(timeout=60.0) as client:
        rows = native(client, loaded.endpoints.broker, query)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    members: dict[tuple[str, str], set[int]] = defaultdict(set)
    for e in loaded.events:
        counts[(e.day.isoformat(), e.asset_id)] += 1
        members[(e.day.isoformat(), e.asset_id)].add(e.member_id)
    got = {(row["timestamp"][:10], row["event"]["asset_id"]): row["event"] for row in rows}
    assert set(got) == set(counts)
    for key, event in got.items():
        assert event["impressions"] == counts[key], key
        assert_estimate(event["uniq"], len(members[key]), str(key))


def test_multi_value_affinities_filter_and_group(loaded: Loaded) -> None:
    """Any-of filter; listFiltered grouping yields only the listed labels; no double counts."""
    wanted = ["anime fans", "drama fans"]
    query = {
        "queryType": "groupBy",
        "dataSource": loaded.datasource,
        "granularity": "all",
        "intervals": [INTERVAL],
        "filter": {"type": "in", "dimension": "affinities", "values": wanted},
        "dimensions": [
            {
                "type": "listFiltered",
                "delegate": {
                    "type": "default",
                    "dimension": "affinities",
                    "outputName": "affinity",
                },
                "values": wanted,
                "isWhitelist": True,
            }
        ],
        "aggregations": sketch_aggs(),
        "postAggregations": BOUNDS,
    }
    filtered_total = {**total_query(loaded.datasource), "filter": query["filter"]}
    with httpx.Client(timeout=60.0) as client:
        rows = native(client, loaded.endpoints.broker, query)
        total = native(client, loaded.endpoints.broker, filtered_total)[0]["result"]
    got = {row["event"]["affinity"]: row["event"] for row in rows}
    assert sorted(got) == wanted
    for label in wanted:
        matching = [e for e in loaded.events if label in e.affinities]
        assert got[label]["impressions"] == len(matching), label
        assert_estimate(got[label]["uniq"], len({e.member_id for e in matching}), label)
    any_of = [e for e in loaded.events if set(wanted) & set(e.affinities)]
    assert total["impressions"] == len(any_of)
    assert sum(got[label]["impressions"] for label in wanted) > len(any_of), "labels overlap"
    assert_estimate(total["uniq"], len({e.member_id for e in any_of}), "any-of total")


def test_druid_sketch_matches_python_datasketches(loaded: Loaded) -> None:
    """Druid's merged sketch (finalize=false) deserialises in Python and equals a local one."""
    query = {**total_query(loaded.datasource), "context": {"finalize": False}}
    query.pop("postAggregations")
    with httpx.Client(timeout=60.0) as client:
        rows = native(client, loaded.endpoints.broker, query)
    blob = base64.b64decode(rows[0]["result"]["imp_sketch"])
    from_druid = ds.hll_sketch.deserialize(blob)
    local = ds.hll_sketch(LG_K, ds.tgt_hll_type.HLL_4)
    for e in loaded.events:
        local.update(e.member_id)
    assert from_druid.get_estimate() == pytest.approx(local.get_estimate(), rel=1e-12)
    union = ds.hll_union(LG_K)
    union.update(from_druid)
    union.update(local)
    # Identical hashing means the union adds nothing.
    assert union.get_estimate() == pytest.approx(local.get_estimate(), rel=1e-12)
