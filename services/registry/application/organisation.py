"""Use cases on org units, departments and staff (federation admins only)."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.adapters.tables import departments, org_units, staff
from services.registry.application import commands as c
from services.registry.application.deps import RegistryDeps
from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.catalogue.people import DepartmentRegistered, OrgUnitEstablished, StaffEnrolled
from shared.errors import AlreadyExists, InvalidInput
from shared.eventstore.unit_of_work import UnitOfWork

_PARENT_LEVEL = {"township": "district", "village": "township"}


async def _create(uow: UnitOfWork, deps: RegistryDeps, principal: Principal, stream_id: str,
                  event: EventPayload) -> None:
    """Start a reference stream (its lookup row comes with it); 409 if it exists already."""
    stream = await deps.repository.read(uow, stream_id)
    await deps.repository.save_stream(uow, stream, [event], deps.context(principal), expected_version=0)


async def establish_org_unit(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, cmd: c.EstablishOrgUnit
) -> dict[str, object]:
    """Enter a district, township or village; its code must nest in its parent's."""
    principal.require(Role.FEDERATION_ADMIN, action="establishing an org unit")
    if await uow.find(org_units, code=cmd.code):
        raise AlreadyExists(f"org unit {cmd.code} exists already", field="code")
    if cmd.level == "district":
        if cmd.parent_code is not None or not cmd.code.endswith("000000"):
            raise InvalidInput("a district has no parent and a code ending in 000000", field="code")
    else:
        if cmd.parent_code is None:
            raise InvalidInput(f"a {cmd.level} needs its parent's code", field="parent_code")
        parent_row = await uow.find(org_units, code=cmd.parent_code)
        parent = parent_row["level"] if parent_row else None
        if parent != _PARENT_LEVEL[cmd.level]:
            raise InvalidInput(f"the parent of a {cmd.level} must be a known {_PARENT_LEVEL[cmd.level]}",
                               field="parent_code")
        prefix = 6 if cmd.level == "township" else 9
        if cmd.code[:prefix] != cmd.parent_code[:prefix]:
            raise InvalidInput(f"code {cmd.code} does not lie within {cmd.parent_code}", field="code")
    event = OrgUnitEstablished(code=cmd.code, name=cmd.name, level=cmd.level, parent_code=cmd.parent_code)
    await _create(uow, deps, principal, f"orgunit-{cmd.code}", event)
    return {"code": cmd.code}


async def register_department(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, cmd: c.RegisterDepartment
) -> dict[str, object]:
    """Enter a department that can own tasks and plan items."""
    principal.require(Role.FEDERATION_ADMIN, action="registering a department")
    if await uow.find(departments, code=cmd.code):
        raise AlreadyExists(f"department {cmd.code} exists already", field="code")
    event = DepartmentRegistered(code=cmd.code, name=cmd.name, org_unit_code=cmd.org_unit_code)
    await _create(uow, deps, principal, f"department-{cmd.code}", event)
    return {"code": cmd.code}


async def enrol_staff(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, cmd: c.EnrolStaff
) -> dict[str, object]:
    """Give a member of staff roles in a department (township officers need a township)."""
    principal.require(Role.FEDERATION_ADMIN, action="enrolling staff")
    if await uow.find(staff, staff_id=cmd.staff_id):
        raise AlreadyExists(f"staff {cmd.staff_id} exists already", field="staff_id")
    if not await uow.find(departments, code=cmd.department):
        raise InvalidInput(f"unknown department {cmd.department!r}", field="department")
    if Role.TOWNSHIP_OFFICER in cmd.roles:
        township = await uow.find(org_units, code=cmd.township_code) if cmd.township_code else None
        level = township["level"] if township else None
        if level != "township":
            raise InvalidInput("a township officer needs the code of a known township", field="township_code")
    roles = sorted(r.value for r in cmd.roles)
    event = StaffEnrolled(staff_id=cmd.staff_id, display_name=cmd.display_name, department=cmd.department,
                          roles=roles, township_code=cmd.township_code)
    await _create(uow, deps, principal, f"staff-{cmd.staff_id}", event)
    return {"staff_id": cmd.staff_id}


async def staff_principal(conn: AsyncConnection, staff_id: str) -> Principal | None:
    """The principal a member of staff acts as (for issuing tokens)."""
    row = (await conn.execute(select(staff).where(staff.c.staff_id == staff_id))).first()
    if row is None:
        return None
    return Principal(staff_id=row.staff_id, name=row.display_name, department=row.department,
                     roles=frozenset(Role(r) for r in json.loads(row.roles)), township_code=row.township_code)
