"""Use cases on org units, departments and staff (federation admins only)."""

from __future__ import annotations

import json

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.registry.adapters.tables import departments, org_units, staff
from services.registry.application import commands as c
from services.registry.application.deps import RegistryDeps
from shared.auth import Principal, Role
from shared.catalogue.people import DepartmentRegistered, OrgUnitEstablished, StaffEnrolled
from shared.errors import AlreadyExists, InvalidInput

_PARENT_LEVEL = {"township": "district", "village": "township"}


async def establish_org_unit(
    conn: AsyncConnection, deps: RegistryDeps, principal: Principal, cmd: c.EstablishOrgUnit
) -> dict[str, object]:
    """Enter a district, township or village; its code must nest in its parent's."""
    principal.require(Role.FEDERATION_ADMIN, action="establishing an org unit")
    if (await conn.execute(select(org_units.c.code).where(org_units.c.code == cmd.code))).first():
        raise AlreadyExists(f"org unit {cmd.code} exists already", field="code")
    if cmd.level == "district":
        if cmd.parent_code is not None or not cmd.code.endswith("000000"):
            raise InvalidInput("a district has no parent and a code ending in 000000", field="code")
    else:
        if cmd.parent_code is None:
            raise InvalidInput(f"a {cmd.level} needs its parent's code", field="parent_code")
        parent = (await conn.execute(select(org_units.c.level).where(org_units.c.code == cmd.parent_code))).scalar()
        if parent != _PARENT_LEVEL[cmd.level]:
            raise InvalidInput(f"the parent of a {cmd.level} must be a known {_PARENT_LEVEL[cmd.level]}",
                               field="parent_code")
        prefix = 6 if cmd.level == "township" else 9
        if cmd.code[:prefix] != cmd.parent_code[:prefix]:
            raise InvalidInput(f"code {cmd.code} does not lie within {cmd.parent_code}", field="code")
    event = OrgUnitEstablished(code=cmd.code, name=cmd.name, level=cmd.level, parent_code=cmd.parent_code)
    await deps.store.append(conn, f"orgunit-{cmd.code}", [event], deps.context(principal), expected_version=0)
    await conn.execute(insert(org_units).values(code=cmd.code, name=cmd.name, level=cmd.level,
                                                parent_code=cmd.parent_code))
    return {"code": cmd.code}


async def register_department(
    conn: AsyncConnection, deps: RegistryDeps, principal: Principal, cmd: c.RegisterDepartment
) -> dict[str, object]:
    """Enter a department that can own tasks and plan items."""
    principal.require(Role.FEDERATION_ADMIN, action="registering a department")
    if (await conn.execute(select(departments.c.code).where(departments.c.code == cmd.code))).first():
        raise AlreadyExists(f"department {cmd.code} exists already", field="code")
    event = DepartmentRegistered(code=cmd.code, name=cmd.name, org_unit_code=cmd.org_unit_code)
    await deps.store.append(conn, f"department-{cmd.code}", [event], deps.context(principal), expected_version=0)
    await conn.execute(insert(departments).values(code=cmd.code, name=cmd.name, org_unit_code=cmd.org_unit_code))
    return {"code": cmd.code}


async def enrol_staff(
    conn: AsyncConnection, deps: RegistryDeps, principal: Principal, cmd: c.EnrolStaff
) -> dict[str, object]:
    """Give a member of staff roles in a department (township officers need a township)."""
    principal.require(Role.FEDERATION_ADMIN, action="enrolling staff")
    if (await conn.execute(select(staff.c.staff_id).where(staff.c.staff_id == cmd.staff_id))).first():
        raise AlreadyExists(f"staff {cmd.staff_id} exists already", field="staff_id")
    if not (await conn.execute(select(departments.c.code).where(departments.c.code == cmd.department))).first():
        raise InvalidInput(f"unknown department {cmd.department!r}", field="department")
    if Role.TOWNSHIP_OFFICER in cmd.roles:
        level = (await conn.execute(select(org_units.c.level).where(org_units.c.code == cmd.township_code))).scalar()
        if level != "township":
            raise InvalidInput("a township officer needs the code of a known township", field="township_code")
    roles = sorted(r.value for r in cmd.roles)
    event = StaffEnrolled(staff_id=cmd.staff_id, display_name=cmd.display_name, department=cmd.department,
                          roles=roles, township_code=cmd.township_code)
    await deps.store.append(conn, f"staff-{cmd.staff_id}", [event], deps.context(principal), expected_version=0)
    await conn.execute(insert(staff).values(staff_id=cmd.staff_id, display_name=cmd.display_name,
                                            department=cmd.department, roles=json.dumps(roles),
                                            township_code=cmd.township_code))
    return {"staff_id": cmd.staff_id}


async def staff_principal(conn: AsyncConnection, staff_id: str) -> Principal | None:
    """The principal a member of staff acts as (for issuing tokens)."""
    row = (await conn.execute(select(staff).where(staff.c.staff_id == staff_id))).first()
    if row is None:
        return None
    return Principal(staff_id=row.staff_id, name=row.display_name, department=row.department,
                     roles=frozenset(Role(r) for r in json.loads(row.roles)), township_code=row.township_code)
