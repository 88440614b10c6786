"""Reads of the registry's own lookup tables, used while deciding a command."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.adapters.tables import departments, org_units, persons, resident_index
from shared.errors import AlreadyExists, InvalidInput
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


async def registered_person(uow: UnitOfWork, index: str) -> str | None:
    """The person registered under a resident ID's keyed hash (earlier in this batch included), or None.

    The one place that answers "is this resident registered" for the import and reconciliation.
    """
    row = await uow.find(resident_index, resident_index=index)
    return str(row["person_id"]) if row is not None else None


async def claim_resident_index(uow: UnitOfWork, index: str, person_id: str) -> None:
    """409 if this resident is registered already (earlier in the batch included), else claim it.

    The blind index lives only in the ``resident_index`` table, never in an event: erasure overwrites
    the row, and the same resident ID can then be registered again as a new person. Registration and
    the import both claim it here; in a buffered batch the table is read once for all the batch's
    claims (``UnitOfWork.claim``), not once per registration.
    """
    def taken(row: dict[str, object]) -> AlreadyExists:
        return AlreadyExists(f"this resident ID is already registered (person {row['person_id']})",
                             field="certificate_number")

    await uow.claim(resident_index, {"resident_index": index, "person_id": person_id},
                    column="resident_index", taken=taken)


async def registered_persons(reader: AsyncConnection | UnitOfWork, indexes: Iterable[str]) -> dict[str, str]:
    """Resident ID keyed hash → person id, for those of ``indexes`` that are registered (committed)."""
    wanted, found = list(indexes), {}
    for start in range(0, len(wanted), 500):  # stay under the database's bound-parameter limit
        chunk = wanted[start:start + 500]
        rows = await reader.execute(select(resident_index.c.resident_index, resident_index.c.person_id)
                                    .where(resident_index.c.resident_index.in_(chunk)))
        found.update({r.resident_index: r.person_id for r in rows})
    return found


async def active_persons_by_index(reader: AsyncConnection | UnitOfWork, township_codes: set[str] | None
                                  ) -> dict[str, str]:
    """Resident ID keyed hash → person id of every active person (in some townships, or all)."""
    query = (select(resident_index.c.resident_index, persons.c.person_id)
             .join(persons, persons.c.person_id == resident_index.c.person_id)
             .where(persons.c.active.is_(True)))
    if township_codes is not None:
        query = query.where(persons.c.township_code.in_(sorted(township_codes)))
    return {r.resident_index: r.person_id for r in await reader.execute(query)}
