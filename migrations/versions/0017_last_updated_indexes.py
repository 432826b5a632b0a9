"""indexes on the last-updated columns (FHIR type/system _history, _lastUpdated search)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25 03:20:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = [
    ('ix_residents_updated_at', 'residents', ['updated_at']),
    ('ix_observations_received_at', 'observations', ['received_at']),
    ('ix_conditions_updated_at', 'conditions', ['updated_at']),
    ('ix_follow_ups_updated_at', 'follow_ups', ['updated_at']),
    ('ix_referrals_updated_at', 'referrals', ['updated_at']),
    ('ix_enrolments_updated_at', 'enrolments', ['updated_at']),
    ('ix_medication_statements_recorded_at', 'medication_statements', ['recorded_at']),
    ('ix_fhir_resource_versions_type_recorded', 'fhir_resource_versions',
     ['resource_type', 'recorded_at']),
]


def upgrade() -> None:
    """Upgrade schema."""
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
