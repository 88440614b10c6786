"""Staff roles stored as a JSON list, like every other list in the service's tables (they were comma-joined).

Revision ID: inspections_0002
Revises: inspections_0001
Created: 2026-12-01 05:00:00
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'inspections_0002'
down_revision: str | Sequence[str] | None = 'inspections_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_staff = sa.table('known_staff', sa.column('staff_id', sa.String()), sa.column('roles', sa.Text()))


def _rewrite(convert: Callable[[str], str]) -> None:
    connection = op.get_bind()
    for staff_id, roles in connection.execute(sa.select(_staff.c.staff_id, _staff.c.roles)).all():
        connection.execute(_staff.update().where(_staff.c.staff_id == staff_id).values(roles=convert(roles)))


def upgrade() -> None:
    _rewrite(lambda roles: json.dumps(sorted(r for r in roles.split(',') if r)))


def downgrade() -> None:
    _rewrite(lambda roles: ','.join(json.loads(roles)))
