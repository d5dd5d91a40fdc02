"""period and submission rules in the database: a locked return is never accepted, a submission's status
moves only as allowed, a period's state only forward (open -> due -> closed)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""
from collections.abc import Sequence

from alembic import op

from models.rules import create_rules, drop_rules

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Periods already paid are closed (due dates need the contract: the next cycle or return moves the rest).
    op.execute(
        "INSERT INTO period (id, state) SELECT DISTINCT period, 'open' FROM payment_run "
        "WHERE period NOT IN (SELECT id FROM period)"
    )
    op.execute(
        "UPDATE period SET state = 'closed' WHERE id IN ("
        "SELECT r.period FROM payment_run r LEFT JOIN payment_approval a ON a.run_id = r.id "
        "WHERE r.requires_approval = FALSE OR a.id IS NOT NULL)"
    )
    create_rules(op)


def downgrade() -> None:
    drop_rules(op)
