"""The access log of reads of personal data; erased persons' blind indexes overwritten.

Revision ID: registry_0004
Revises: registry_0003
Created: 2026-12-01 05:00:00

Persons erased before this revision kept their ``resident_index`` row (their resident ID could
still be found and not registered again); the upgrade overwrites those rows as erasure now does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'registry_0004'
down_revision: str | Sequence[str] | None = 'registry_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('access_log',
    sa.Column('entry_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.String(length=50), nullable=False),
    sa.Column('roles', sa.Text(), nullable=False),
    sa.Column('route', sa.String(length=200), nullable=False),
    sa.Column('what', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('entry_id')
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index('ix_access_log_person', ['person_id'], unique=False)
        batch_op.create_index('ix_access_log_staff_at', ['staff_id', 'at'], unique=False)
    op.execute(
        "UPDATE resident_index SET resident_index = 'erased:' || person_id "
        "WHERE person_id IN (SELECT person_id FROM person_keys WHERE wrapped_key IS NULL)"
    )


def downgrade() -> None:
    """Undo this revision (erased blind indexes stay overwritten: they cannot be recomputed)."""
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_access_log_staff_at')
        batch_op.drop_index('ix_access_log_person')
    op.drop_table('access_log')
