"""Which commits may skip waiting for the WAL flush (PostgreSQL ``synchronous_commit``).

A transaction that only appended read-access events (READ, SEARCH) to the audit trail is
committed with ``synchronous_commit = off``: it does not hold the audit chain's lock across an
fsync, and a crash can lose at most the last fraction of a second of such events, never a
clinical write (docs/adr/0009-audit-read-commits.md).

The decision is made from what the transaction actually ran, not from what its caller claims:
the audit service marks a transaction relaxable when it records a read, and every statement
that is neither a SELECT/SHOW, a savepoint command nor an INSERT into ``audit_events`` — as well
as any audit event of another kind — makes the transaction durable. Unknown statement shapes
count as writes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, event

_RELAXABLE = "manbing.relaxable_commit"
_DURABLE = "manbing.durable_commit"
# statements that write nothing themselves: reads, and the savepoints batch entries run in
# (SAVEPOINT, RELEASE [SAVEPOINT], ROLLBACK TO SAVEPOINT); what runs inside one is watched as usual
_READ_ONLY_HEADS = frozenset({"SELECT", "SHOW", "SAVEPOINT", "RELEASE", "ROLLBACK"})
AUDIT_TABLE = "audit_events"


def install(engine: Engine) -> None:
    """Watch the engine's transactions (PostgreSQL only: SQLite commits are local anyway)."""
    if engine.dialect.name != "postgresql":
        return
    event.listen(engine, "before_cursor_execute", _watch)
    event.listen(engine, "commit", _on_commit)
    event.listen(engine, "begin", _reset)
    event.listen(engine, "rollback", _reset)


def relax(connection: Connection) -> None:
    """The transaction recorded read access: commit it asynchronously unless it also wrote."""
    connection.info[_RELAXABLE] = True


def require_durable(connection: Connection) -> None:
    """The transaction must wait for its WAL flush at commit (the default)."""
    connection.info[_DURABLE] = True


def is_relaxed(connection: Connection) -> bool:
    """Whether the transaction in progress would be committed asynchronously."""
    return bool(connection.info.get(_RELAXABLE)) and not connection.info.get(_DURABLE)


def _watch(
    conn: Connection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    context: Any,
    _executemany: bool,
) -> None:
    if conn.info.get(_DURABLE):
        return
    words = statement.lstrip().split(None, 1)
    if words and words[0].upper() in _READ_ONLY_HEADS:
        return
    if _is_audit_insert(context):
        return
    conn.info[_DURABLE] = True


def _is_audit_insert(context: Any) -> bool:
    if context is None or not getattr(context, "isinsert", False):
        return False
    compiled = getattr(context, "compiled", None)
    table = getattr(getattr(compiled, "statement", None), "table", None)
    return getattr(table, "name", None) == AUDIT_TABLE


def _on_commit(conn: Connection) -> None:
    relaxed = is_relaxed(conn)
    _reset(conn)
    if relaxed:
        # raw cursor: this runs inside the commit itself, after SQLAlchemy's last statement
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        finally:
            cursor.close()


def _reset(conn: Connection) -> None:
    conn.info.pop(_RELAXABLE, None)
    conn.info.pop(_DURABLE, None)
