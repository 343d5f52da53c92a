"""Arrow schemas of the raw input contract (DESIGN §3), shared by the generator, the
validator and every ETL engine."""

from __future__ import annotations

import pyarrow as pa

RAW_TABLES: dict[str, pa.Schema] = {
    "titles": pa.schema(
        [
            ("title_id", pa.string()),
            ("name", pa.string()),
            ("kind", pa.string()),
            ("genres", pa.list_(pa.string())),
            ("launch_date", pa.date32()),
        ]
    ),
    "assets": pa.schema(
        [
            ("asset_id", pa.string()),
            ("title_id", pa.string()),
            ("asset_type", pa.string()),
            ("name", pa.string()),
            ("tags", pa.list_(pa.string())),
            ("media_url", pa.string()),
        ]
    ),
    "members": pa.schema(
        [
            ("member_id", pa.int64()),
            ("country", pa.string()),
            ("affinities", pa.list_(pa.string())),
        ]
    ),
    "impressions": pa.schema(
        [
            ("impression_id", pa.string()),
            ("event_time", pa.timestamp("us", tz="UTC")),
            ("member_id", pa.int64()),
            ("asset_id", pa.string()),
            ("country", pa.string()),
        ]
    ),
    "playbacks": pa.schema(
        [
            ("playback_id", pa.string()),
            ("event_time", pa.timestamp("us", tz="UTC")),
            ("member_id", pa.int64()),
            ("title_id", pa.string()),
            ("asset_id", pa.string()),
            ("duration_s", pa.int64()),
        ]
    ),
}

TITLE_KINDS = ("series", "film", "live", "game")
ASSET_TYPES = ("artwork", "video")
