"""follow-up schedule on residents (the worklist reads one page of due patients); a
pattern-ops index on organizations.path for subtree filters

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 15:15:00

The three columns are derived data kept by ``services/follow_up_schedule.py``; the backfill
below computes them the same way (``domain.rules.follow_up_due_on``: the date the latest visit
scheduled, else that visit's date, else the earliest active hypertension/diabetes enrolment; no
due date when the resident is in neither programme), in set-based statements.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_LATEST = """
    SELECT DISTINCT ON (resident_id) resident_id, id, classification,
           COALESCE(next_visit_date, visit_date) AS due_on
    FROM follow_ups ORDER BY resident_id, visit_date DESC, created_at DESC
"""
_ENROLLED = """
    SELECT resident_id, MIN(enrolled_on) AS enrolled_on FROM enrolments
    WHERE status = 'active' AND programme IN ('hypertension', 't2dm') GROUP BY resident_id
"""


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('last_follow_up_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('last_follow_up_class', sa.String(length=1), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        # one pass over each table: the latest visit per resident by one sort, not a probe each
        op.execute(f"""
            UPDATE residents r SET
                follow_up_due_on = CASE WHEN m.resident_id IS NOT NULL
                                        THEN COALESCE(l.due_on, m.enrolled_on) END,
                last_follow_up_id = l.id,
                last_follow_up_class = l.classification
            FROM ({_LATEST}) l FULL JOIN ({_ENROLLED}) m ON m.resident_id = l.resident_id
            WHERE r.id = COALESCE(l.resident_id, m.resident_id)
        """)
    else:
        latest = """(SELECT {col} FROM follow_ups f WHERE f.resident_id = residents.id
                     ORDER BY f.visit_date DESC, f.created_at DESC LIMIT 1)"""
        op.execute(f"""
            UPDATE residents SET
                last_follow_up_id = {latest.format(col="f.id")},
                last_follow_up_class = {latest.format(col="f.classification")}
        """)
        op.execute(f"""
            UPDATE residents SET follow_up_due_on = COALESCE(
                {latest.format(col="COALESCE(f.next_visit_date, f.visit_date)")},
                (SELECT MIN(e.enrolled_on) FROM enrolments e WHERE e.resident_id = residents.id
                 AND e.status = 'active' AND e.programme IN ('hypertension', 't2dm')))
            WHERE EXISTS (SELECT 1 FROM enrolments e WHERE e.resident_id = residents.id
                 AND e.status = 'active' AND e.programme IN ('hypertension', 't2dm'))
        """)
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_residents_org_status_due'),
            ['managing_org_id', 'status', 'follow_up_due_on'],
            unique=False,
        )
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.create_index(
            'ix_organizations_path_prefix',
            ['path'],
            unique=False,
            postgresql_ops={'path': 'varchar_pattern_ops'},
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index('ix_organizations_path_prefix')
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_residents_org_status_due'))
        batch_op.drop_column('last_follow_up_class')
        batch_op.drop_column('last_follow_up_id')
        batch_op.drop_column('follow_up_due_on')
