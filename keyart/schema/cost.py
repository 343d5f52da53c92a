"""Static cost analysis: an upper estimate of how many fields an operation answers, computed
from its document, variables and the served snapshot before anything executes.

Each selected field costs 1 for every time it is answered: a field inside a list counts
once per item. List sizes come from the arguments — `titles(first)` for its edges,
`assets(ids)`, `top` of a breakdown, a time series' buckets (window days ÷ granularity) —
and, where the query leaves a list unbounded, from the snapshot: every affinity or country for a
breakdown without `top` or a filter, the most assets any title has for `Title.assets` and
a title's outliers, a series' buckets for anomalies, the compared assets for a comparison.
Lists of scalars count as one field; introspection fields are not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from keyart.errors import QueryTooCostly
from keyart.query import Granularity, Interval, buckets
from keyart.resolvers.insights import MAX_COMPARED
from keyart.store.model import Snapshot

DEFAULT_PAGE = 50  # titles(first) when the argument is left out
# sizes assumed when no snapshot is loaded (the request then fails anyway)
UNKNOWN_LIST = 100


@dataclass(frozen=True, slots=True)
class Fanout:
    """How long the lists are whose length a query does not fix, in the served data."""

    titles: int = UNKNOWN_LIST
    assets_per_title: int = UNKNOWN_LIST
    countries: int = UNKNOWN_LIST
    affinities: int = UNKNOWN_LIST

    @classmethod
    def of(cls, snapshot: Snapshot) -> Fanout:
        """The fan-out of one snapshot's data."""
        countries: set[str] = set()
        for codes in snapshot.title_countries.values():
            countries.update(codes)
        return cls(
            titles=len(snapshot.titles),
            assets_per_title=max((len(t.asset_ids) for t in snapshot.titles.values()), default=0),
            countries=len(countries),
            affinities=len(snapshot.affinities),
        )


class _Walk:
    """One cost computation over one operation."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        fanout: Fanout,
        max_window_days: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.fanout = fanout
        self.max_window_days = max_window_days
        self.page = UNKNOWN_LIST  # titles in the `titles` page being walked
        self.compared = MAX_COMPARED  # assets of the `compare` being walked

    def selection(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> int:
        """The cost of answering `selection_set` once on an object of type `parent`."""
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, parent)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                of_type = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection(node.selection_set, of_type or parent)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is not None:
                    of_type = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.selection(fragment.selection_set, of_type or parent)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        """1 for the field, plus its selection once per item it holds."""
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType):
            return 0  # introspection: the schema's own size, not the data's
        definition = parent.fields.get(name)
        if definition is None or node.selection_set is None:
            return 1
        of_type: Any = definition.type
        many = False
        while isinstance(of_type, GraphQLNonNull | GraphQLList):
            many = many or isinstance(of_type, GraphQLList)
            of_type = of_type.of_type
        if parent.name == "Query" and name == "titles":
            # the connection's edges hold `first` titles at most
            outer, self.page = self.page, self.page_size(node)
            try:
                return 1 + self.selection(node.selection_set, of_type)
            finally:
                self.page = outer
        if parent.name == "Query" and name == "compare":
            ids = self.arguments(node).get("assets")
            self.compared = len(ids) if isinstance(ids, list) else MAX_COMPARED
        items = self.items(parent.name, name, node) if many else 1
        return 1 + items * self.selection(node.selection_set, of_type)

    def page_size(self, node: FieldNode) -> int:
        """How many titles a `titles` page holds at most."""
        first = _int(self.arguments(node).get("first"), DEFAULT_PAGE)
        return max(0, min(first, self.fanout.titles))

    def items(self, parent: str, name: str, node: FieldNode) -> int:
        """How many items a list field holds at most."""
        args = self.arguments(node)
        fanout = self.fanout
        if parent == "TitleConnection" and name == "edges":
            return self.page
        if parent == "Query" and name == "assets":
            ids = args.get("ids")
            return len(ids) if isinstance(ids, list) else UNKNOWN_LIST
        if parent == "Title" and name in ("assets", "outliers", "allTimeOutliers"):
            return fanout.assets_per_title  # outliers are some of the title's assets
        if parent == "Asset" and name in ("timeseries", "anomalies"):
            return self.buckets(args.get("window"), args.get("granularity"))
        if parent == "Comparison" and name == "entries":
            return self.compared
        if parent == "Asset" and name in ("byAffinity", "byCountry"):
            dimension = "affinities" if name == "byAffinity" else "countries"
            groups: int = getattr(fanout, dimension)
            listed = (args.get("filter") or {}).get(dimension)
            if isinstance(listed, list) and name == "byAffinity":
                groups = min(groups, len(listed))  # only listed affinities form groups
            top = _int(args.get("top"), groups)
            return max(0, min(top, groups))
        return _int(args.get("first"), UNKNOWN_LIST)

    def buckets(self, window: Any, granularity: Any) -> int:
        """The number of time buckets of a window (1 when the window is not valid: the
        resolver then answers with its own error)."""
        if not isinstance(window, dict):
            return 1
        try:
            start = date.fromisoformat(window["start"])
            end = date.fromisoformat(window["end"])
            days = (end - start).days + 1
            if not 1 <= days <= self.max_window_days:
                return 1
            grain = Granularity(str(granularity or "DAY").lower())
        except (KeyError, TypeError, ValueError):
            return 1
        if grain is Granularity.DAY:
            return days
        return len(buckets(Interval(start, end), grain))

    def arguments(self, node: FieldNode) -> dict[str, Any]:
        """The field's argument values as plain Python values (variables substituted)."""
        return {arg.name.value: self.value(arg.value) for arg in node.arguments or ()}

    def value(self, node: ValueNode) -> Any:
        """A literal or variable value as a plain Python value."""
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, FloatValueNode):
            return float(node.value)
        if isinstance(node, StringValueNode | EnumValueNode):
            return node.value
        if isinstance(node, BooleanValueNode):
            return node.value
        if isinstance(node, NullValueNode):
            return None
        if isinstance(node, ListValueNode):
            return [self.value(v) for v in node.values]
        if isinstance(node, ObjectValueNode):
            return {f.name.value: self.value(f.value) for f in node.fields}
        return None


def _int(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else default


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
    fanout: Fanout | None = None,
    max_window_days: int = 366,
) -> int:
    """The estimated cost of the operation `operation_name` of a validated document."""
    operation = _operation(document, operation_name)
    if operation is None:
        return 0  # graphql-core reports the missing or ambiguous operation itself
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        default = definition.default_value
        if default is not None:
            values[definition.variable.name.value] = _Walk(
                schema, {}, {}, Fanout(), max_window_days
            ).value(default)
    values.update(variables or {})
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    walk = _Walk(schema, fragments, values, fanout or Fanout(), max_window_days)
    return walk.selection(operation.selection_set, root)


class QueryCostLimiter(SchemaExtension):
    """Refuses an operation whose estimated cost is over `max_cost` before it executes
    (QUERY_TOO_COSTLY, naming the cost and the limit); records the cost of the others
    in the request context's extras."""

    def __init__(
        self,
        max_cost: int,
        max_window_days: int,
        fanout_of: Callable[[Any], Fanout],
    ) -> None:
        super().__init__()
        self.max_cost = max_cost
        self.max_window_days = max_window_days
        self.fanout_of = fanout_of

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        document = ec.graphql_document
        if document is not None and ec.result is None:
            variables = ec.variables if isinstance(ec.variables, dict) else {}
            cost = estimate_cost(
                ec.schema._schema,
                document,
                operation_name=ec.operation_name,
                variables=variables,
                fanout=self.fanout_of(ec.context),
                max_window_days=self.max_window_days,
            )
            extras = getattr(ec.context, "extras", None)
            if extras is not None:
                extras["cost"] = cost
            if cost > self.max_cost:
                refused = QueryTooCostly(cost, self.max_cost)
                error = GraphQLError(
                    str(refused),
                    original_error=refused,
                    extensions={"cost": cost, "limit": self.max_cost},
                )
                ec.result = GraphQLExecutionResult(data=None, errors=[error])
        yield


def fanout_of_context(context: Any) -> Fanout:
    """The fan-out of the snapshot a request reads, computed once per snapshot."""
    snapshot = getattr(context, "snapshot_or_none", None)
    if snapshot is None:
        return Fanout()
    shared = getattr(context, "shared", None)
    if shared is None:
        return Fanout.of(snapshot)
    fanout: Fanout = shared("cost", "fanout", lambda: Fanout.of(snapshot))
    return fanout


__all__ = ["Fanout", "QueryCostLimiter", "estimate_cost", "fanout_of_context"]
