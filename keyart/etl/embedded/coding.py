"""The run's dictionaries as numpy and Arrow arrays (`Coding`): what the integer codes of
the facts stand for, and each member's sketch coupon."""

from __future__ import annotations

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from keyart.etl.embedded.duck import COUNTRIES
from keyart.etl.embedded.rollups import Coding
from keyart.sketches.groups import coupon_table


def coding(con: duckdb.DuckDBPyConnection, lg_k: int) -> Coding:
    """The Coding of `asset_codes`, `title_codes` and `member_codes`."""
    assets = con.sql(
        "SELECT asset_id, title_no, type_no FROM asset_codes ORDER BY asset_no"
    ).to_arrow_table()
    titles = con.sql("SELECT title_id FROM title_codes ORDER BY title_no").to_arrow_table()
    types = con.sql(
        "SELECT DISTINCT type_no, asset_type FROM asset_codes ORDER BY type_no"
    ).to_arrow_table()
    members = con.sql("SELECT member_id, set_no FROM member_codes ORDER BY member_no").fetchnumpy()
    sets = con.sql(
        "SELECT any_value(labels) AS labels FROM member_codes GROUP BY set_no ORDER BY set_no"
    ).to_arrow_table()
    set_lists = sets.column("labels").combine_chunks()
    if not isinstance(set_lists, pa.ListArray):
        set_lists = set_lists.cast(pa.list_(pa.string()))
    flat = set_lists.flatten()
    labels = pc.unique(flat).sort()
    set_labels = pc.index_in(flat, value_set=labels).to_numpy(zero_copy_only=False)
    member_ids = np.asarray(members["member_id"], dtype=np.int64)
    coupons = coupon_table(member_ids, lg_k)

    def ints(table: pa.Table, name: str) -> npt.NDArray[np.int64]:
        return np.asarray(table.column(name).to_numpy(), dtype=np.int64)

    return Coding(
        asset_ids=assets.column("asset_id").combine_chunks(),
        asset_title=ints(assets, "title_no"),
        title_ids=titles.column("title_id").combine_chunks(),
        asset_kind=ints(assets, "type_no"),
        asset_types=types.column("asset_type").combine_chunks(),
        countries=COUNTRIES,
        labels=labels,
        member_ids=member_ids,
        coupons=coupons.column("coupon").to_numpy(),
        clash=coupons.column("clash").to_numpy(zero_copy_only=False),
        member_set=np.asarray(members["set_no"], dtype=np.int64),
        set_offsets=np.asarray(set_lists.offsets.to_numpy(), dtype=np.int64)
        - int(set_lists.offsets[0].as_py()),
        set_labels=np.asarray(set_labels, dtype=np.int64),
    )


__all__ = ["coding"]
