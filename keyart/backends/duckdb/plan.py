"""Planning shared by the DuckDB backends: a query rewritten so that the serving copy's sort
order (title first) lets DuckDB skip other titles' blocks."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from keyart.query.ir import MetricQuery


def narrow_by_title(query: MetricQuery, asset_titles: Mapping[str, str]) -> MetricQuery:
    """The same query with the titles of its listed assets added as a title filter.

    Every asset belongs to one title, so the answer is unchanged; but serving copies are
    sorted by title first, and a title constraint lets DuckDB skip other titles' blocks.
    Left alone when titles are already constrained or an asset is unknown.
    """
    assets = query.filter.asset_ids
    if assets is None or query.filter.title_ids is not None or not assets:
        return query
    titles = {asset_titles.get(asset) for asset in assets}
    if None in titles:
        return query
    narrowed = query.filter.replace_titles(t for t in titles if t is not None)
    return dataclasses.replace(query, filter=narrowed)


__all__ = ["narrow_by_title"]
