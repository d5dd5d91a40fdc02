"""an officer may send an accepted return back (status sent_back: the database's rules made again to allow it); board
members' confirmations of a step-down where the contract asks for a quorum

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from models.rules import create_rules, drop_rules
from models.types import UTCDateTime

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    drop_rules(op)
    create_rules(op)
    op.create_table('board_confirmation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('proposal', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('member', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('member_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('confirmed_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'proposal', 'member_key', name='uq_board_confirmation_member')
    )
    op.create_index(op.f('ix_board_confirmation_case_id'), 'board_confirmation', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_board_confirmation_case_id'), table_name='board_confirmation')
    op.drop_table('board_confirmation')
    # Rules as 0008 made them would refuse rows already sent back: they stay as made here.
