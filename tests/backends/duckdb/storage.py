"""How a serving file stores its sketch columns, read back from DuckDB, for tests."""

from __future__ import annotations

from pathlib import Path

import duckdb


def sketch_storage(path: Path) -> dict[tuple[str, str], set[str]]:
    """The compressions of each (table, sketch column) of a DuckDB file, over all its data
    segments (validity masks left out)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SHOW TABLES").fetchall() if not r[0].startswith("_")]
        out: dict[tuple[str, str], set[str]] = {}
        for table in tables:
            for column, compression in con.execute(
                "SELECT column_name, compression FROM pragma_storage_info(?)"
                " WHERE column_name LIKE '%_sketch' AND segment_type <> 'VALIDITY'",
                [table],
            ).fetchall():
                out.setdefault((table, column), set()).add(compression)
        return out
    finally:
        con.close()
