"""submission source, size and sender; unreadable files are quarantined

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('submission') as batch:
        batch.add_column(sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column('size_bytes', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('sender_partner_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.execute("UPDATE submission SET status = 'quarantined' WHERE status = 'unreadable'")


def downgrade() -> None:
    op.execute("UPDATE submission SET status = 'unreadable' WHERE status = 'quarantined'")
    with op.batch_alter_table('submission') as batch:
        batch.drop_column('sender_partner_id')
        batch.drop_column('size_bytes')
        batch.drop_column('source')
