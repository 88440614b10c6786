"""Data keys of persons that inspections writes about (focus-check notes, findings are sealed).

Revision ID: inspections_0003
Revises: inspections_0002
Created: 2026-12-01 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'inspections_0003'
down_revision: str | Sequence[str] | None = 'inspections_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('person_note_keys',
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('person_id')
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table('person_note_keys')
