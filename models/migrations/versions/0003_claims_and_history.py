"""claims and history: a submission's outcome counts, a row's sheet row, participant ids indexed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('submission') as batch:
        batch.add_column(sa.Column('measure_counts', sa.Text(), nullable=True))
    with op.batch_alter_table('participant_row') as batch:
        batch.add_column(sa.Column('sheet_row', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_participant_row_participant_id'), 'participant_row', ['participant_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_participant_row_participant_id'), table_name='participant_row')
    with op.batch_alter_table('participant_row') as batch:
        batch.drop_column('sheet_row')
    with op.batch_alter_table('submission') as batch:
        batch.drop_column('measure_counts')
