"""plan items still planned per due month

``pi_due_month_counts`` sums ``pi_due_counts`` per due month, so that the scoreboards and the work
list count overdue plan items from a few hundred rows (and this month's days through an index on
``pi_due_counts.due_on``); filled from the rows already there
(``services.reporting.projections.counters``), so that a live database needs no rebuild.

Revision ID: reporting_0008
Revises: reporting_0007
Created: 2026-12-02 00:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.reporting.projections import counters
from services.reporting.projections.plan_items import pi_due_month_counts

revision: str = 'reporting_0008'
down_revision: str | Sequence[str] | None = 'reporting_0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('pi_due_month_counts',
    sa.Column('responsible_department', sa.String(length=50), nullable=False),
    sa.Column('township_code', sa.String(length=12), nullable=False),
    sa.Column('due_month', sa.Date(), nullable=False),
    sa.Column('planned', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('responsible_department', 'township_code', 'due_month')
    )
    with op.batch_alter_table('pi_due_counts', schema=None) as batch_op:
        batch_op.create_index('ix_pi_due_counts_due_on', ['due_on'], unique=False)
    counters.fill_sync(op.get_bind(), (pi_due_month_counts,))  # what the tally would have reached


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table('pi_due_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_pi_due_counts_due_on')
    op.drop_table('pi_due_month_counts')
