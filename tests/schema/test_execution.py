"""Plain fields answered directly give exactly graphql-core's answers and errors."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import logging
import math
import tomllib
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, cast

import pytest
import strawberry
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    visit,
)
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from strawberry.extensions import SchemaExtension

from keyart.schema import build_schema
from keyart.schema.execution import (
    PLAIN_LEAF,
    PLAIN_OBJECT,
    TESTED_VERSIONS,
    PlainFieldExecutionContext,
    mark_plain_fields,
    untested_versions,
)
from keyart.state.keys import KeyStore
from keyart.state.store import StateStore, state_url
from tests.e2e.harness import api
from tests.truth import Truth, truth_of

# ---------------------------------------------------------------- the product schema

FRAGMENTS = {
    "M": """fragment M on Metrics { impressions qualifiedPlays playSeconds engagedPlays
      authenticity uniqueImpressions { value lower upper } uniquePlayers { value lower upper }
      takeRate { value lower upper } }""",
    "C": """fragment C on PeriodChange { window { start end } previousWindow { start end }
      current { ...M } previous { ...M } changes { metric current previous
      difference { value lower upper } ratio pValue significant } }""",
    "D": """fragment D on StackDiff { backend against withinTolerance metrics { metric value
      againstValue difference tolerance outsideBy withinTolerance } }""",
    "O": """fragment O on Outlier { asset { id name } metric direction value peerMedian score
      pValue reason }""",
    "A": "fragment A on Appeal { verdict effectiveness authenticity reason }",
}


def _document(query: str) -> str:
    """The query with the fragments it spreads (M, C, D, O, A)."""
    used = [text for name, text in FRAGMENTS.items() if f"...{name}" in query]
    return " ".join([query, *used])


# every root field, every Asset and Title field (test_the_queries_cover_every_field), errors
QUERIES = {
    "catalog": """{ affinities dataVersion warehouseVersion dataRange { first last days }
        titles(first: 3, orderBy: LAUNCH_DATE_DESC, kinds: [SERIES, FILM]) { totalCount
          pageInfo { hasNextPage endCursor } edges { cursor node { id name kind genres
          launchDate } } } }""",
    "title fields": """query($tid: ID!, $w: DateRange!, $f: MetricFilter) {
        title(id: $tid) { id name kind genres launchDate allTime { ...M }
          availability { countries countryCount } filterOptions { countries affinities }
          assets { id type } videos: assets(type: VIDEO) { id }
          metrics(window: $w, filter: $f) { ...M } outliers(window: $w) { ...O }
          allTimeOutliers(metric: AUTHENTICITY) { ...O } change(window: $w) { ...C }
          stackDiff(window: $w, against: LEGACY) { ...D } } }""",
    "asset fields": """query($id: ID!, $w: DateRange!, $pw: DateRange, $f: MetricFilter) {
        asset(id: $id) { id type name tags mediaUrl allTime { ...M }
          availability { countries countryCount } allTimeAppeal { ...A }
          title { id name assets { id } } stackDiff(window: $w, against: LEGACY) { ...D }
          metrics(window: $w, filter: $f) { ...M }
          timeseries(window: $w, granularity: WEEK) { date metrics { ...M } }
          byAffinity(window: $w, top: 5) { affinity lift metrics { ...M } }
          byCountry(window: $w, filter: $f) { country metrics { ...M } }
          appeal(window: $w) { ...A } anomalies(window: $w) { date direction value expected
          score } change(window: $w, previous: $pw) { ...C } } }""",
    "title page": """query($ids: [ID!]!, $w: DateRange!, $f: MetricFilter) {
        assets(ids: $ids) { id name type mediaUrl metrics(window: $w, filter: $f) { ...M } } }""",
    "breakdowns and series": """query($id: ID!, $w: DateRange!) { asset(id: $id) {
        byAffinity(window: $w) { affinity lift metrics { ...M } }
        byCountry(window: $w, top: 3) { country metrics { ...M } }
        daily: timeseries(window: $w) { date metrics { ...M } }
        weekly: timeseries(window: $w, granularity: WEEK) { date metrics { impressions } }
        } }""",
    "snapshot fields": """query($ids: [ID!]!) { assets(ids: $ids) {
        id allTime { ...M } availability { countries countryCount }
        title { id name kind launchDate filterOptions { countries affinities } } }
        titles(first: 3) { totalCount pageInfo { hasNextPage endCursor }
          edges { cursor node { id name } } } }""",
    "rankings and comparisons": """query($ids: [ID!]!, $w: DateRange!) {
        topAssets(window: $w, first: 5, minImpressions: 10) { asset { id } value
          metrics { ...M } }
        compare(assets: $ids, window: $w) { baseline { id } entries { asset { id }
          metrics { ...M } takeRateLift { value lower upper } probabilityBetter significant } }
        unknown: assets(ids: ["no-such-asset"]) { id } asset(id: "no-such-asset") { id }
        title(id: "no-such-title") { id } }""",
    "admin fields": """{ apiKeys { name scope revokedAt } shadowMismatches { metric }
        routingRules { id } alertRules { id name } alerts { edges { cursor }
          pageInfo { hasNextPage } } }""",
    "typename and aliases": """query($id: ID!) { asset(id: $id) { __typename id again: id
        allTime { __typename n: impressions impressions } } }""",
    "an error in a field": """query($id: ID!) { asset(id: $id) { id
        metrics(window: {start: "2026-01-01", end: "2029-01-01"}) { impressions } } }""",
    "bad arguments": """query($id: ID!, $w: DateRange!) {
        a: asset(id: $id) { id byCountry(window: $w, top: -2) { country } }
        b: asset(id: $id) { id metrics(window: {start: "2026-02-02", end: "2026-01-01"}) {
          impressions } }
        c: asset(id: $id) { id timeseries(window: $w, filter: {countries: []}) { date } }
        d: asset(id: $id) { id byAffinity(window: $w, filter: {countries: ["usa"]}) {
          affinity } } }""",
    "a bad root argument": """{ cursor: titles(after: "not-a-cursor") { totalCount } }""",
    "a document that does not validate": "{ asset(id: 1) { nosuchfield } }",
    "a document that does not parse": "{ asset(id: ",
    "a variable of the wrong type": """query($w: DateRange!) { titles(first: 1) {
        totalCount } asset(id: "x") { metrics(window: $w) { impressions } } }""",
    "a refused mutation": """mutation { setRoutingRules(rules: "not json") { id } }""",
}


@pytest.fixture(scope="module")
def truth(tiny_raw: Path) -> Truth:
    return truth_of(tiny_raw)


def _variables(truth: Truth, query: str) -> dict[str, Any]:
    days = truth.days()
    assets = truth.busiest("asset", 6)
    window = {"start": days[0].isoformat(), "end": days[-1].isoformat()}
    previous = {"start": days[0].isoformat(), "end": days[6].isoformat()}
    countries = sorted({c for a in assets for c in truth.countries_of_asset(a)})[:2]
    variables = {
        "ids": assets,
        "id": assets[0],
        "tid": truth.busiest("title", 1)[0],
        "w": window,
        "pw": previous,
        "f": {"countries": countries},
    }
    if "variable of the wrong type" in query:
        variables["w"] = {"start": "yesterday", "end": 3}
    return variables


def _admin_key(url: str) -> str:
    store = StateStore.open(url)
    try:
        return KeyStore(store).create("ops", "admin")[1]
    finally:
        store.close()


async def test_product_answers_equal_the_standard_execution(
    tiny_warehouse: Path, truth: Truth, tmp_path: Path
) -> None:
    url = state_url(tmp_path / "state")
    headers = {"Authorization": f"Bearer {_admin_key(url)}"}
    bodies: dict[bool, dict[str, bytes]] = {}
    for plain in (True, False):
        schema = build_schema(plain_fields=plain)
        assert schema.plain_fields is plain
        async with api(
            tiny_warehouse, schema=schema, cache_ttl_s=0, state_url=url, allow_anonymous=False
        ) as client:
            bodies[plain] = {}
            for name, query in QUERIES.items():
                # one request id per question: error answers carry it
                response = await client.post(
                    "/graphql",
                    json={"query": _document(query), "variables": _variables(truth, name)},
                    headers={**headers, "X-Request-Id": f"compare-{len(bodies[plain])}"},
                )
                bodies[plain][name] = response.content
    for name in QUERIES:
        assert bodies[True][name] == bodies[False][name], name
    answers = {name: json.loads(body) for name, body in bodies[True].items()}
    for name in ("catalog", "title fields", "asset fields", "breakdowns and series"):
        assert not answers[name].get("errors"), (name, answers[name].get("errors"))
    assert len(answers["breakdowns and series"]["data"]["asset"]["daily"]) == len(truth.days())
    asset = answers["asset fields"]["data"]["asset"]
    assert asset["metrics"]["impressions"] > 0 and asset["stackDiff"]["withinTolerance"]
    for name in list(QUERIES)[-7:]:
        codes = {e["extensions"]["code"] for e in answers[name]["errors"]}
        assert codes and "INTERNAL" not in codes, (name, codes)
    assert len(answers["bad arguments"]["errors"]) == 4


class _Selected(Visitor):
    """Collects (type, field) of every field a document selects."""

    def __init__(self, types: TypeInfo) -> None:
        super().__init__()
        self.types = types
        self.seen: set[tuple[str, str]] = set()

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.types.get_parent_type()
        if parent is not None:
            self.seen.add((parent.name, node.name.value))


def test_the_queries_cover_every_field() -> None:
    graphql_schema = build_schema()._schema
    types = TypeInfo(graphql_schema)
    selected = _Selected(types)
    for query in QUERIES.values():
        try:
            document = parse(_document(query))
        except GraphQLError:
            continue  # the document that does not parse
        visit(document, TypeInfoVisitor(types, selected))
    for name in ("Query", "Asset", "Title"):
        fields = set(graphql_schema.type_map[name].fields)  # type: ignore[attr-defined]
        assert fields <= {f for t, f in selected.seen if t == name}, name


def test_every_plain_field_of_the_metric_types_is_marked() -> None:
    graphql_schema = build_schema()._schema
    names = ("Metrics", "Estimate", "MetricPoint", "Availability", "Asset", "Title")
    marked = {
        kind: {
            name: sorted(f for f, d in t.fields.items() if kind in (d.extensions or {}))
            for name in names
            for t in [cast(GraphQLObjectType, graphql_schema.type_map[name])]
        }
        for kind in (PLAIN_LEAF, PLAIN_OBJECT)
    }
    assert marked[PLAIN_LEAF] == {
        "Metrics": ["authenticity", "engagedPlays", "impressions", "playSeconds", "qualifiedPlays"],
        "Estimate": ["lower", "upper", "value"],
        "MetricPoint": ["date"],
        "Availability": ["countries", "countryCount"],
        "Asset": ["id", "mediaUrl", "name", "tags", "type"],
        "Title": ["genres", "id", "kind", "launchDate", "name"],
    }
    assert marked[PLAIN_OBJECT] == {
        "Metrics": ["takeRate", "uniqueImpressions", "uniquePlayers"],
        "Estimate": [],
        "MetricPoint": ["metrics"],
        "Availability": [],
        # snapshot fields: Asset and Title views are built once per snapshot
        "Asset": ["allTime", "allTimeAppeal", "availability"],
        "Title": ["allTime", "availability", "filterOptions"],
    }


# ---------------------------------------------------------------- values that are errors


class Color(Enum):
    RED = "red"


@strawberry.type
class Inner:
    label: str
    n: int | None


@strawberry.type
class Row:
    count: int
    ratio: float | None
    color: Color
    names: list[str]
    maybe_names: list[str | None] | None
    inner: Inner | None = None
    must: Inner = strawberry.field(default_factory=lambda: Inner(label="m", n=None))

    @strawberry.field
    def resolved(self) -> int:
        return self.count * 2


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row | None]:  # a bad row becomes null, not the whole list
        good = Row(count=1, ratio=0.5, color=Color.RED, names=["a"], maybe_names=["x", None])
        nulls = Row(count=None, ratio=None, color=Color.RED, names=["b"], maybe_names=None)  # type: ignore[arg-type]
        bad_float = Row(count=3, ratio=math.nan, color=Color.RED, names=[], maybe_names=[])
        bad_item = Row(count=4, ratio=1.0, color=Color.RED, names=["c", None], maybe_names=[])  # type: ignore[list-item]
        bad_enum = Row(count=5, ratio=1.0, color="blue", names=[], maybe_names=[])  # type: ignore[arg-type]
        missing = Row(count=6, ratio=1.0, color=Color.RED, names=[], maybe_names=[])
        del missing.ratio
        too_big = Row(count=2**40, ratio=1.0, color=Color.RED, names=[], maybe_names=[])
        # an iterator can be read once: a bad item in it must still be reported
        bad_iterator = Row(
            count=7,
            ratio=1.0,
            color=Color.RED,
            names=iter(["d", None]),  # type: ignore[arg-type]
            maybe_names=[],
        )
        # plain objects: a null object where allowed, and errors inside and at an object
        nested = Row(count=8, ratio=1.0, color=Color.RED, names=[7], maybe_names=[])  # type: ignore[list-item]
        nested.inner = Inner(label="i", n=3)
        null_label = Row(count=9, ratio=1.0, color=Color.RED, names=[], maybe_names=[])
        null_label.inner = Inner(label=None, n=1)  # type: ignore[arg-type]
        null_must = Row(count=10, ratio=1.0, color=Color.RED, names=[], maybe_names=[])
        null_must.must = None  # type: ignore[assignment]
        return [
            good,
            nulls,
            bad_float,
            bad_item,
            bad_enum,
            missing,
            too_big,
            bad_iterator,
            nested,
            null_label,
            null_must,
        ]


class CountResolves(SchemaExtension):
    """A field middleware: sees every field resolved."""

    seen: ClassVar[list[str]] = []

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        CountResolves.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


ROWS = "{ rows { count ratio color names maybeNames resolved alias: count } }"
# only plain fields: each row is completed from a plan, with fragments, skips, typenames
NESTED = """{ rows { count names inner { label n __typename } ... on Row { must { label } }
  ratio @skip(if: true) second: inner { ...I } } } fragment I on Inner { n }"""


class CountFieldProtocol(PlainFieldExecutionContext):
    """Records each field that reaches the per-field protocol."""

    seen: ClassVar[list[str]] = []

    def execute_field(self, parent_type: Any, source: Any, details: Any, *args: Any) -> Any:
        CountFieldProtocol.seen.append(details[0].node.name.value)
        return super().execute_field(parent_type, source, details, *args)


def _toy(
    plain: bool,
    extensions: list[Any] | None = None,
    context: type[PlainFieldExecutionContext] = PlainFieldExecutionContext,
) -> strawberry.Schema:
    schema = strawberry.Schema(
        query=Query,
        extensions=extensions or [],
        execution_context_class=context if plain else None,
    )
    if plain:
        assert mark_plain_fields(schema._schema) == 9
    return schema


def _outcome(schema: strawberry.Schema, query: str = ROWS) -> tuple[Any, list[tuple[str, Any]]]:
    result = schema.execute_sync(query)
    errors = sorted((e.message, e.path) for e in result.errors or [])
    return result.data, errors


def test_values_that_are_errors_get_the_standard_errors() -> None:
    fast, standard = _outcome(_toy(True)), _outcome(_toy(False))
    assert fast == standard
    data, errors = fast
    assert data is not None and data["rows"][0] == {
        "count": 1,
        "ratio": 0.5,
        "color": "RED",
        "names": ["a"],
        "maybeNames": ["x", None],
        "resolved": 2,
        "alias": 1,
    }
    # null count, NaN ratio, null list item, unknown enum value, missing attribute, an Int
    # out of range, null item of an iterator: each reported at its own path
    assert {path[1] for _, path in errors} == {1, 2, 3, 4, 5, 6, 7}


def test_plain_objects_get_the_standard_answers_and_errors() -> None:
    fast, standard = _outcome(_toy(True), NESTED), _outcome(_toy(False), NESTED)
    assert fast == standard
    data, errors = fast
    assert data is not None
    assert data["rows"][0] == {
        "count": 1,
        "names": ["a"],
        "inner": None,
        "must": {"label": "m"},
        "second": None,
    }
    assert data["rows"][8] == {
        "count": 8,
        "names": ["7"],  # an Int in a String list is serialized, not passed through
        "inner": {"label": "i", "n": 3, "__typename": "Inner"},
        "must": {"label": "m"},
        "second": {"n": 3},
    }
    # null label inside a nullable object: the object is null; null `must`: the row is
    assert data["rows"][9]["inner"] is None and data["rows"][10] is None
    assert {(path[1], path[2]) for _, path in errors if path[1] >= 8} == {
        (9, "inner"),
        (10, "must"),
    }


def test_plain_objects_skip_the_per_field_protocol() -> None:
    schema = _toy(True, context=CountFieldProtocol)
    CountFieldProtocol.seen = []
    result = schema.execute_sync("{ rows { count inner { label } must { n } } }")
    # null count, Int out of range, null label, null must
    failed = {e.path[1] for e in result.errors or [] if e.path}
    assert failed == {1, 6, 9, 10}
    # rows the plan completes never reach execute_field; a row with an error in a plain
    # field falls back to graphql-core's path for that row only
    assert CountFieldProtocol.seen.count("rows") == 1
    assert CountFieldProtocol.seen.count("count") == len(failed)


def test_a_field_middleware_still_sees_every_field() -> None:
    for query in (ROWS, NESTED):
        CountResolves.seen = []
        fast = _outcome(_toy(True, [CountResolves]), query)
        seen_fast = sorted(CountResolves.seen)
        CountResolves.seen = []
        standard = _outcome(_toy(False, [CountResolves]), query)
        assert fast == standard
        assert seen_fast == sorted(CountResolves.seen) and "count" in seen_fast


# ---------------------------------------------------------------- the guard


@pytest.mark.parametrize("method", ["execute_field", "execute_collected_subfields"])
def test_overrides_name_the_parameters_of_the_methods_they_override(method: str) -> None:
    base = next(
        c for c in PlainFieldExecutionContext.__mro__[1:] if method in vars(c)
    )  # graphql-core's implementation the override calls
    ours = inspect.signature(getattr(PlainFieldExecutionContext, method)).parameters
    theirs = inspect.signature(getattr(base, method)).parameters
    assert list(ours) == list(theirs), base


def test_untested_versions_name_each_package_outside_its_range() -> None:
    tested = {"graphql-core": "3.3.2", "strawberry-graphql": "0.341.2"}
    assert untested_versions(tested.__getitem__) == []
    newer = {**tested, "strawberry-graphql": "0.342.0"}
    assert untested_versions(newer.__getitem__) == [
        f"strawberry-graphql 0.342.0 (tested: {TESTED_VERSIONS['strawberry-graphql']})"
    ]

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    assert [v.split(" (")[0] for v in untested_versions(missing)] == [
        "graphql-core unknown",
        "strawberry-graphql unknown",
    ]
    assert untested_versions() == []  # the installed versions are the tested ones


def test_pyproject_declares_the_tested_versions() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    declared = {r.name: r.specifier for r in map(Requirement, pyproject["project"]["dependencies"])}
    for name, tested in TESTED_VERSIONS.items():
        assert declared[name] == SpecifierSet(tested), name


async def test_untested_versions_fall_back_to_stock_execution(
    tiny_warehouse: Path,
    truth: Truth,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import keyart.schema

    plugged = build_schema()  # the versions installed here are the tested ones
    assert plugged.plain_fields
    untested = ["strawberry-graphql 0.999.0 (tested: >=0.341,<0.342)"]
    monkeypatch.setattr(keyart.schema, "untested_versions", lambda: untested)
    with caplog.at_level(logging.WARNING, logger="keyart.schema"):
        schema = build_schema()
    assert not schema.plain_fields
    assert schema.execution_context_class is not PlainFieldExecutionContext
    assert "strawberry-graphql 0.999.0" in caplog.text and "stock" in caplog.text
    marked = [
        f
        for t in schema._schema.type_map.values()
        for f in (getattr(t, "fields", None) or {}).values()
        if PLAIN_LEAF in (f.extensions or {}) or PLAIN_OBJECT in (f.extensions or {})
    ]
    assert marked == []
    variables = _variables(truth, "snapshot fields")
    query = _document(QUERIES["snapshot fields"])
    for fallback, expected in ((True, 0.0), (False, 1.0)):
        served = schema if fallback else plugged
        async with api(tiny_warehouse, schema=served, cache_ttl_s=0) as client:
            answer = await client.post("/graphql", json={"query": query, "variables": variables})
            assert answer.status_code == 200 and "errors" not in answer.json()
            text = (await client.get("/metrics")).text
            assert f"keyart_graphql_plain_field_execution {expected}" in text
