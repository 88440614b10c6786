"""Reads of the registry's own lookup tables, used while deciding a command."""

from __future__ import annotations

from sqlalchemy import select

from services.registry.adapters.tables import departments, org_units
from shared.errors import InvalidInput
from shared.eventstore.unit_of_work import UnitOfWork

# Org units never change once established (a new code is a new unit), so a village's township
# can be remembered for the life of the process.
_townships: dict[str, str] = {}


async def village_township(uow: UnitOfWork, village_code: str) -> str:
    """The township of a registered village; 422 if the code is not a village we know."""
    if village_code in _townships:
        return _townships[village_code]
    row = await uow.find(org_units, code=village_code)
    if row is None:
        raise InvalidInput(f"village {village_code} is not in the register of org units", field="village_code")
    if row["level"] != "village" or row["parent_code"] is None:
        raise InvalidInput(f"{village_code} is a {row['level']}, not a village", field="village_code")
    _townships[village_code] = str(row["parent_code"])
    return _townships[village_code]


async def department_codes(uow: UnitOfWork) -> set[str]:
    """Every registered department's code (including those registered earlier in this batch)."""
    known = set((await uow.execute(select(departments.c.code))).scalars())
    return known | {row["code"] for row in uow.pending_inserts(departments)}
