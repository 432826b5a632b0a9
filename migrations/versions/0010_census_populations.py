"""census populations (常住人口 by division, year, sex and age group)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 12:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('census_populations',
    sa.Column('division_code', sa.String(length=12), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('age_from', sa.Integer(), nullable=False),
    sa.Column('age_to', sa.Integer(), nullable=True),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('population >= 0', name=op.f('ck_census_populations_population_not_negative')),
    sa.CheckConstraint('age_from >= 0', name=op.f('ck_census_populations_age_from_not_negative')),
    sa.CheckConstraint('age_to IS NULL OR age_to >= age_from', name=op.f('ck_census_populations_age_group_ordered')),
    sa.CheckConstraint("sex IN ('M', 'F')", name=op.f('ck_census_populations_sex_known')),
    sa.ForeignKeyConstraint(['division_code'], ['divisions.code'], name=op.f('fk_census_populations_division_code_divisions')),
    sa.PrimaryKeyConstraint('division_code', 'year', 'sex', 'age_from', name=op.f('pk_census_populations'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('census_populations')
