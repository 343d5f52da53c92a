"""The root `Query` type."""

from __future__ import annotations

from datetime import date

import strawberry

from keyart.errors import BadUserInput
from keyart.resolvers import args
from keyart.resolvers.context import RequestContext
from keyart.schema.admin import api_keys_field
from keyart.schema.asset import Asset
from keyart.schema.title import Title, TitleConnection
from keyart.store import queries
from keyart.store.model import DataRange as DataRangeRecord

Info = strawberry.Info[RequestContext, None]

MAX_ASSET_IDS = 500


@strawberry.type(description="The days the served data covers.")
class DataRange:
    first: date = strawberry.field(description="The first day with data (UTC).")
    last: date = strawberry.field(description="The last day with data (UTC).")
    days: int = strawberry.field(
        description="How many days between first and last (inclusive) hold data."
    )


@strawberry.type
class Query:
    @strawberry.field(description="One title by id; null when there is no such title.")
    def title(self, info: Info, id: strawberry.ID) -> Title | None:
        record = info.context.snapshot.titles.get(str(id))
        return None if record is None else Title.shared(info.context, record)

    @strawberry.field(description="Titles ordered by name, Relay style; search is a substring.")
    def titles(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = strawberry.UNSET,
        search: str | None = strawberry.UNSET,
    ) -> TitleConnection:
        page = queries.titles_page(
            info.context.snapshot, args.page_size(first), args.given(after), args.given(search)
        )
        return TitleConnection.of(info.context, page)

    @strawberry.field(description="One asset by id; null when there is no such asset.")
    def asset(self, info: Info, id: strawberry.ID) -> Asset | None:
        record = info.context.snapshot.assets.get(str(id))
        return None if record is None else Asset.shared(info.context, record)

    @strawberry.field(description="Assets by id, in the order asked; null for unknown ids.")
    def assets(self, info: Info, ids: list[strawberry.ID]) -> list[Asset | None]:
        if len(ids) > MAX_ASSET_IDS:
            raise BadUserInput(f"assets(ids) takes at most {MAX_ASSET_IDS} ids, got {len(ids)}")
        known = info.context.snapshot.assets
        out: list[Asset | None] = []
        for asset_id in ids:
            record = known.get(str(asset_id))
            out.append(None if record is None else Asset.shared(info.context, record))
        return out

    @strawberry.field(description="Every audience affinity label in the data.")
    def affinities(self, info: Info) -> list[str]:
        return list(info.context.snapshot.affinities)

    @strawberry.field(
        description="Which days the served data covers; null when it names none (a snapshot "
        "published before keyart recorded its days)."
    )
    def data_range(self, info: Info) -> DataRange | None:
        covered = DataRangeRecord.of(info.context.snapshot)
        return (
            None
            if covered is None
            else DataRange(first=covered.first, last=covered.last, days=covered.days)
        )

    @strawberry.field(description="The snapshot version being served.")
    def data_version(self, info: Info) -> str:
        return info.context.snapshot.version

    @strawberry.field(description="The warehouse version the served snapshot was built from.")
    def warehouse_version(self, info: Info) -> str:
        return info.context.snapshot.warehouse_version

    api_keys = api_keys_field


__all__ = ["Query"]
