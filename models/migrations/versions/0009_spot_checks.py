"""spot checks of claimed outcomes: draws with their seeds, the claims drawn, officers' results (append-only)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from models.immutable import allow_changes, forbid_changes
from models.types import UTCDateTime

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMMUTABLE = ("spot_check_draw", "spot_check_claim", "spot_check_result")


def upgrade() -> None:
    op.create_table('spot_check_draw',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('partner_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('seed', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=False),
    sa.Column('risks', sa.Text(), nullable=False),
    sa.Column('drawn_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], ),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('submission_id')
    )
    with op.batch_alter_table('spot_check_draw', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_check_draw_period'), ['period'], unique=False)

    op.create_table('spot_check_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('measure', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('band', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sheet_row', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['draw_id'], ['spot_check_draw.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('draw_id', 'participant_id', 'measure', name='uq_spot_check_claim')
    )
    with op.batch_alter_table('spot_check_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spot_check_claim_draw_id'), ['draw_id'], unique=False)

    op.create_table('spot_check_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['spot_check_claim.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('claim_id')
    )
    forbid_changes(op, IMMUTABLE)


def downgrade() -> None:
    allow_changes(op, IMMUTABLE)
    op.drop_table('spot_check_result')
    with op.batch_alter_table('spot_check_claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_check_claim_draw_id'))

    op.drop_table('spot_check_claim')
    with op.batch_alter_table('spot_check_draw', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_check_draw_period'))

    op.drop_table('spot_check_draw')
