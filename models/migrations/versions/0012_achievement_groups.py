"""achievement groups: each submission's rows counted by complexity band and measures achieved when recorded, so a
payment run reads a few groups per return instead of every row (issue 27's payment-run floor); filled from the rows
already recorded

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('achievement_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('complexity_band', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('achieved', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('submission_id', 'complexity_band', 'achieved', name='uq_achievement_group')
    )
    op.create_index(op.f('ix_achievement_group_submission_id'), 'achievement_group', ['submission_id'], unique=False)
    op.execute(
        "INSERT INTO achievement_group (submission_id, complexity_band, achieved, rows) "
        "SELECT submission_id, complexity_band, achieved, count(*) FROM participant_row "
        "GROUP BY submission_id, complexity_band, achieved"
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_achievement_group_submission_id'), table_name='achievement_group')
    op.drop_table('achievement_group')
