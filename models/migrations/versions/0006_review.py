"""annual review: figures per partner, replies, board decisions; step-downs linked to decisions and appeals

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from models.immutable import allow_changes, forbid_changes
from models.types import UTCDateTime

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


IMMUTABLE = ("review", "review_case", "review_reply", "board_decision", "funding_adjustment")


def upgrade() -> None:
    op.create_table('review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('first_period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('last_period', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('computed_at', UTCDateTime(), nullable=False),
    sa.Column('reply_closes', sa.Date(), nullable=False),
    sa.Column('board_deadline', UTCDateTime(), nullable=False),
    sa.Column('phi', sa.Float(), nullable=False),
    sa.Column('tau2', sa.Float(), nullable=False),
    sa.Column('overdispersion_applied', sa.Boolean(), nullable=False),
    sa.Column('variance_per_expected', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('year')
    )
    op.create_table('review_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('standing', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('basis', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('ranked', sa.Integer(), nullable=False),
    sa.Column('bottom', sa.Integer(), nullable=False),
    sa.Column('accepted_months', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('observed', sa.Float(), nullable=False),
    sa.Column('expected', sa.Float(), nullable=False),
    sa.Column('variance', sa.Float(), nullable=False),
    sa.Column('ratio', sa.Float(), nullable=True),
    sa.Column('z', sa.Float(), nullable=True),
    sa.Column('z_adjusted', sa.Float(), nullable=True),
    sa.Column('lower_limit', sa.Float(), nullable=True),
    sa.Column('upper_limit', sa.Float(), nullable=True),
    sa.Column('lower_998', sa.Float(), nullable=True),
    sa.Column('trend', sa.Text(), nullable=False),
    sa.Column('case_mix', sa.Text(), nullable=False),
    sa.Column('evidence_path', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], ),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('review_id', 'partner_id', name='uq_review_case_partner')
    )
    with op.batch_alter_table('review_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_case_review_id'), ['review_id'], unique=False)

    op.create_table('board_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('step_down_percent', sa.Integer(), nullable=True),
    sa.Column('effective', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_at', UTCDateTime(), nullable=False),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], ),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], ),
    sa.ForeignKeyConstraint(['reverses_id'], ['board_decision.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('decision_key')
    )
    with op.batch_alter_table('board_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_board_decision_case_id'), ['case_id'], unique=False)

    op.create_table('review_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('stored_path', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['review_case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review_reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_reply_case_id'), ['case_id'], unique=False)

    with op.batch_alter_table('funding_adjustment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reverses_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_funding_adjustment_reverses', ['reverses_id'])

    forbid_changes(op, IMMUTABLE)


def downgrade() -> None:
    allow_changes(op, IMMUTABLE)
    with op.batch_alter_table('funding_adjustment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_funding_adjustment_reverses', type_='unique')
        batch_op.drop_column('reverses_id')
        batch_op.drop_column('decision_id')

    with op.batch_alter_table('review_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_reply_case_id'))

    op.drop_table('review_reply')
    with op.batch_alter_table('board_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_board_decision_case_id'))

    op.drop_table('board_decision')
    with op.batch_alter_table('review_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_case_review_id'))

    op.drop_table('review_case')
    op.drop_table('review')

