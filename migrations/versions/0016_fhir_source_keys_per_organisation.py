"""FHIR import source keys per organisation: ``fhir:<organisation>:<source id>``

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25 02:15:00

Before, an imported Observation or Condition kept its source id as written (``urn:uuid:…``, an
absolute ``fullUrl``, ``Type/<uuid>``) in a column unique across the database, so a second
station loading the same source records for its own residents was refused (409). The keys now
name the organisation managing the resident (``manbing.fhir.source_keys``); this revision
rewrites the keys stored before in the same form, so files loaded before still match. No column
or constraint changes. The functions below are a copy of ``source_keys.namespaced`` as of this
revision (a migration does not import the application).

Downgrade strips the organisation again; a key kept as a hash (longer than the column: before
this revision such a record had no key) and all but one of keys that become equal lose their key
(a re-import after the downgrade adds those records again).
"""
import base64
import hashlib
import uuid
from typing import Iterator, Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PREFIX = "fhir:"
LIMIT = 100
BATCH = 5000

_residents = sa.table(
    "residents", sa.column("id", sa.Uuid()), sa.column("managing_org_id", sa.Uuid())
)
_observations = sa.table(
    "observations",
    sa.column("id", sa.Uuid()),
    sa.column("resident_id", sa.Uuid()),
    sa.column("source", sa.String()),
    sa.column("idempotency_key", sa.String()),
)
_conditions = sa.table(
    "conditions",
    sa.column("id", sa.Uuid()),
    sa.column("resident_id", sa.Uuid()),
    sa.column("source_key", sa.String()),
)


def _namespaced(organization_id: uuid.UUID, source: str) -> str:
    key = f"{PREFIX}{organization_id.hex}:{source}"
    if len(key) <= LIMIT:
        return key
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest()
    return f"{PREFIX}{organization_id.hex}:sha256:{base64.urlsafe_b64encode(digest).decode()[:43]}"


def _targets() -> Iterator[tuple[sa.TableClause, sa.ColumnClause[str], sa.ColumnElement[bool]]]:
    key = _observations.c.idempotency_key
    legacy = sa.or_(
        key.startswith("urn:uuid:"),
        key.startswith("http://"),
        key.startswith("https://"),
        key.startswith("Observation/"),
    )
    yield _observations, key, sa.and_(_observations.c.source == "import", legacy)
    yield _conditions, _conditions.c.source_key, _conditions.c.source_key.isnot(None)


def _batches(
    conn: sa.Connection, table: sa.TableClause, stmt: sa.Select[tuple[uuid.UUID, str, uuid.UUID]]
) -> Iterator[list[sa.Row[tuple[uuid.UUID, str, uuid.UUID]]]]:
    last: uuid.UUID | None = None
    while True:
        page = stmt if last is None else stmt.where(table.c.id > last)
        rows = list(conn.execute(page.order_by(table.c.id).limit(BATCH)))
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def upgrade() -> None:
    conn = op.get_bind()
    for table, key, legacy in _targets():
        stmt = (
            sa.select(table.c.id, key, _residents.c.managing_org_id)
            .join(_residents, _residents.c.id == table.c.resident_id)
            .where(legacy, sa.not_(key.startswith(PREFIX)))
        )
        update = (
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values({key.name: sa.bindparam("new_key")})
        )
        for rows in _batches(conn, table, stmt):
            conn.execute(
                update, [{"row_id": i, "new_key": _namespaced(org, old)} for i, old, org in rows]
            )


def downgrade() -> None:
    conn = op.get_bind()
    start = len(PREFIX) + 33  # the prefix, 32 hex digits, ':'
    for table, key, _legacy in _targets():
        extra = table.c.source == "import" if table is _observations else sa.true()
        stmt = (
            sa.select(table.c.id, key, table.c.resident_id)
            .where(key.startswith(PREFIX), extra)
        )
        update = (
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values({key.name: sa.bindparam("new_key")})
        )
        seen: set[str] = set()
        for rows in _batches(conn, table, stmt):
            changes = []
            for row_id, new, _resident in rows:
                old: str | None = new[start:]
                if old is None or old.startswith("sha256:") or old in seen:
                    old = None
                else:
                    seen.add(old)
                changes.append({"row_id": row_id, "new_key": old})
            conn.execute(update, changes)
