"""audit chain: no two entries may follow the same entry (the log cannot fork)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A unique index, not a constraint through batch mode: SQLite's batch mode copies the table and
    # would drop its append-only triggers. The chain so far is linear, so its prev_hash values are unique.
    op.create_index('uq_audit_entry_prev_hash', 'audit_entry', ['prev_hash'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_audit_entry_prev_hash', table_name='audit_entry')
