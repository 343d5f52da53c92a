"""The root `Query` type."""

from __future__ import annotations

import strawberry

from keyart.errors import BadUserInput
from keyart.resolvers import args
from keyart.resolvers.context import RequestContext
from keyart.schema.admin import api_keys_field
from keyart.schema.asset import Asset
from keyart.schema.rollout import routing_rules_field, shadow_mismatches_field
from keyart.schema.title import Title, TitleConnection
from keyart.store import queries

Info = strawberry.Info[RequestContext, None]

MAX_ASSET_IDS = 500


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

    @strawberry.field(description="The snapshot version being served.")
    def data_version(self, info: Info) -> str:
        return info.context.snapshot.version

    @strawberry.field(description="The warehouse version the served snapshot was built from.")
    def warehouse_version(self, info: Info) -> str:
        return info.context.snapshot.warehouse_version

    api_keys = api_keys_field
    shadow_mismatches = shadow_mismatches_field
    routing_rules = routing_rules_field


__all__ = ["Query"]
