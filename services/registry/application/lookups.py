"""Reads of the registry's own lookup tables, used while deciding a command."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.adapters.tables import departments, org_units
from shared.errors import InvalidInput


async def village_township(conn: AsyncConnection, village_code: str) -> str:
    """The township of a registered village; 422 if the code is not a village we know."""
    row = (
        await conn.execute(select(org_units.c.level, org_units.c.parent_code).where(org_units.c.code == village_code))
    ).first()
    if row is None:
        raise InvalidInput(f"village {village_code} is not in the register of org units", field="village_code")
    if row.level != "village" or row.parent_code is None:
        raise InvalidInput(f"{village_code} is a {row.level}, not a village", field="village_code")
    return str(row.parent_code)


async def department_codes(conn: AsyncConnection) -> set[str]:
    """Every registered department's code."""
    return set((await conn.execute(select(departments.c.code))).scalars())
