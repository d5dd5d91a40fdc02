"""outbox delivery: when to try again, which relay holds a message, an uploaded file not yet shared

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from models.types import UTCDateTime

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('notification', sa.Column('next_attempt_at', UTCDateTime(), nullable=True))
    op.add_column('notification', sa.Column('claimed_until', UTCDateTime(), nullable=True))
    op.add_column('notification', sa.Column('file_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_index('ix_notification_status_next_attempt_at', 'notification', ['status', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_notification_status_next_attempt_at', table_name='notification')
    with op.batch_alter_table('notification') as batch:
        batch.drop_column('file_id')
        batch.drop_column('claimed_until')
        batch.drop_column('next_attempt_at')
