"""Engine and session factory, built from settings (never at import time)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from manbing.db import durability

# SQLite's busy handler (the connection's ``timeout``) retries a locked write after sleeps that
# grow to 100 ms. A long job that commits and at once takes the write lock again would leave the
# waiting writers only microseconds to get in; pausing a little longer than one retry lets them.
OTHER_WRITERS_PAUSE = 0.12  # seconds


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; on SQLite enable foreign keys and WAL, and create the folder."""
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not url.startswith("sqlite://:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["pool_size"] = 10
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_begin_before_savepoint)
    durability.install(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_before_savepoint(connection: Connection, _name: str | None) -> None:
    """Open the real transaction before the first SAVEPOINT (``Session.begin_nested``).

    The sqlite3 driver's legacy transaction control emits BEGIN only before INSERT, UPDATE and
    DELETE. A SAVEPOINT sent while no transaction is open starts one of its own, and releasing
    it commits: a batch entry's rows would be committed at once and survive the caller's
    rollback. SQLAlchemy's documented cure (driver BEGIN switched off, BEGIN on every
    transaction) would also move every read into a transaction, and a read-then-write request
    would then fail with "database is locked" instead of waiting when another writer got in
    first; so only connections that take a savepoint are changed.
    """
    begin_sqlite_write(connection)


def begin_sqlite_write(connection: Connection) -> None:
    """On SQLite, open a write transaction now (``BEGIN IMMEDIATE``) unless one is open: the
    caller is about to write and must hold the write lock from its next read on (the audit
    chain's head, a savepoint's rows). It waits for the lock (busy timeout) rather than failing
    on the lock upgrade later. A no-op on other databases and inside a transaction, which in
    the driver's legacy mode means a write already ran and holds the lock."""
    if connection.dialect.name != "sqlite":
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        finally:
            cursor.close()


def let_other_writers_in(session: Session) -> None:
    """After a commit of a long job on SQLite, pause so writers waiting for the lock get it (see
    ``OTHER_WRITERS_PAUSE``). A no-op on other databases, whose writers lock rows, not the file."""
    if session.get_bind().dialect.name == "sqlite":
        time.sleep(OTHER_WRITERS_PAUSE)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
