"""approval and locks: runs that wait for an officer, locked returns, the working behind each line

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from models.immutable import allow_changes, forbid_changes
from models.types import UTCDateTime

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (not batch mode): SQLite's batch mode copies the table and drops its triggers.
    op.add_column('payment_run', sa.Column('requires_approval', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('payment_run', sa.Column('base_version', sa.Integer(), nullable=True))
    op.add_column('payment_run', sa.Column('inputs', sa.Text(), nullable=False, server_default='{}'))
    op.add_column('payment_line', sa.Column('working', sa.Text(), nullable=False, server_default='{}'))
    op.create_table(
        'payment_approval',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('approved_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['payment_run.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('run_id'),
    )
    op.create_table(
        'return_lock',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column('partner_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['partner_id'], ['partner.id']),
        sa.ForeignKeyConstraint(['run_id'], ['payment_run.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_return_lock_period'), 'return_lock', ['period'], unique=False)
    forbid_changes(op, ("payment_approval", "return_lock"))


def downgrade() -> None:
    allow_changes(op, ("payment_approval", "return_lock"))
    op.drop_index(op.f('ix_return_lock_period'), table_name='return_lock')
    op.drop_table('return_lock')
    op.drop_table('payment_approval')
    allow_changes(op, ("payment_run", "payment_line"))
    op.drop_column('payment_line', 'working')
    op.drop_column('payment_run', 'inputs')
    op.drop_column('payment_run', 'base_version')
    op.drop_column('payment_run', 'requires_approval')
    forbid_changes(op, ("payment_run", "payment_line"))
