"""The project's one state store: a SQLAlchemy engine over SQLite (default, a file in the
warehouse) or PostgreSQL, migrated to the newest schema when opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from filelock import FileLock
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from keyart.errors import StateError

STATE_FILE = "state.sqlite3"
SQLITE_BUSY_TIMEOUT_MS = 10_000
MIGRATIONS = Path(__file__).with_name("migrations")
# any fixed number: PostgreSQL serialises concurrent migrations of one database on it
_PG_MIGRATION_LOCK = 0x6B657961


def state_url(warehouse: Path, url: str | None = None) -> str:
    """The SQLAlchemy URL of the state store: `url` (postgresql://… uses psycopg 3) or the
    SQLite file <warehouse>/state.sqlite3."""
    if not url:
        return f"sqlite:///{(warehouse / STATE_FILE).absolute()}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def redacted(url: str) -> str:
    """`url` without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


class StateStore:
    """An open, migrated state store; `engine` is shared by the stores of each kind of record
    (keys.KeyStore, …)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> StateStore:
        """Connect to `url` and apply every pending migration; StateError when either fails."""
        engine = _engine(url)
        try:
            _migrate(engine, url)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StateError(f"state store {redacted(url)} cannot be opened: {exc}") from exc
        return cls(engine)

    @property
    def dialect(self) -> str:
        """sqlite or postgresql."""
        return str(self.engine.dialect.name)

    def revision(self) -> str | None:
        """The Alembic revision the database is at."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            rev = MigrationContext.configure(conn).get_current_revision()
        return None if rev is None else str(rev)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def head_revision() -> str:
    """The newest migration shipped with this version of keyart."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return str(head)


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StateError(f"state store URL {redacted(url)} is not valid: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    raise StateError(
        f"state store URL {redacted(url)}: only sqlite:/// and postgresql:// are supported"
    )


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # pysqlite's own transaction handling skips BEGIN before DDL; SQLAlchemy emits it instead
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL: readers (servers) never block the writer (keys create/revoke) nor each other
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def _migrate(engine: Engine, url: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        # two processes opening a new file at once must not both create the tables
        lock = FileLock(f"{database}.migrate.lock", timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        with lock, engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


__all__ = ["STATE_FILE", "StateStore", "head_revision", "redacted", "state_url"]
