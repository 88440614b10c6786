"""Reads of the instance's lookup tables, used while deciding a command."""

from __future__ import annotations

from sqlalchemy import select

from services.checklists.adapters.tables import departments
from shared.eventstore.unit_of_work import UnitOfWork


async def known_departments(uow: UnitOfWork) -> set[str]:
    """Departments the registry has announced (learned from its events, never asked)."""
    return set((await uow.execute(select(departments.c.code))).scalars())
