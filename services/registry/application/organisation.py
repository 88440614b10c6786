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
from shared.catalogue.people import (
    DepartmentRegistered,
    OrgUnitEstablished,
    StaffContactSet,
    StaffDisabled,
    StaffEnrolled,
    StaffRolesChanged,
)
from shared.errors import AlreadyExists, DomainRuleViolated, InvalidInput, NotFound
from shared.eventstore.store import Stream
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
    await _township_officer_scope(uow, cmd.roles, cmd.township_code)
    roles = sorted(r.value for r in cmd.roles)
    event = StaffEnrolled(staff_id=cmd.staff_id, display_name=cmd.display_name, department=cmd.department,
                          roles=roles, township_code=cmd.township_code)
    await _create(uow, deps, principal, f"staff-{cmd.staff_id}", event)
    return {"staff_id": cmd.staff_id}


async def _township_officer_scope(uow: UnitOfWork, roles: list[Role], township_code: str | None) -> None:
    if Role.TOWNSHIP_OFFICER in roles:
        township = await uow.find(org_units, code=township_code) if township_code else None
        if (township["level"] if township else None) != "township":
            raise InvalidInput("a township officer needs the code of a known township", field="township_code")


async def _existing_staff(uow: UnitOfWork, deps: RegistryDeps, staff_id: str) -> Stream:
    stream = await deps.repository.read(uow, f"staff-{staff_id}")
    if stream.version == 0:
        raise NotFound(f"no staff {staff_id}")
    return stream


async def change_staff_roles(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, staff_id: str, cmd: c.ChangeStaffRoles
) -> dict[str, object]:
    """Give a member of staff other roles or another township; their tokens stop working everywhere."""
    principal.require(Role.FEDERATION_ADMIN, action="changing staff roles")
    stream = await _existing_staff(uow, deps, staff_id)
    await _township_officer_scope(uow, cmd.roles, cmd.township_code)
    event = StaffRolesChanged(staff_id=staff_id, roles=sorted(r.value for r in cmd.roles),
                              township_code=cmd.township_code)
    await deps.repository.save_stream(uow, stream, [event], deps.context(principal), expected_version=None)
    return {"staff_id": staff_id}


async def disable_staff(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, staff_id: str, cmd: c.DisableStaff
) -> dict[str, object]:
    """Stop a member of staff acting: no sign-in here, and every service refuses their tokens."""
    principal.require(Role.FEDERATION_ADMIN, action="disabling staff")
    stream = await _existing_staff(uow, deps, staff_id)
    if any(isinstance(e, StaffDisabled) for e in stream.payloads):
        raise DomainRuleViolated(f"staff {staff_id} is disabled already")
    if staff_id == principal.staff_id:
        raise DomainRuleViolated("an admin cannot disable themselves")
    event = StaffDisabled(staff_id=staff_id, reason=cmd.reason)
    await deps.repository.save_stream(uow, stream, [event], deps.context(principal), expected_version=None)
    return {"staff_id": staff_id}


async def set_staff_contact(
    uow: UnitOfWork, deps: RegistryDeps, principal: Principal, staff_id: str, cmd: c.SetStaffContact
) -> dict[str, object]:
    """Set where reminders reach a member of staff (both channels at once; ``None`` removes one)."""
    principal.require(Role.FEDERATION_ADMIN, action="setting staff contact details")
    stream = await _existing_staff(uow, deps, staff_id)
    if any(isinstance(e, StaffDisabled) for e in stream.payloads):
        raise DomainRuleViolated(f"staff {staff_id} is disabled: they are sent no reminders")
    event = StaffContactSet(staff_id=staff_id, email=cmd.email, webhook_recipient=cmd.webhook_recipient)
    await deps.repository.save_stream(uow, stream, [event], deps.context(principal), expected_version=None)
    return {"staff_id": staff_id}


async def staff_principal(conn: AsyncConnection, staff_id: str) -> Principal | None:
    """The principal an active member of staff acts as (for issuing tokens); ``None`` if unknown or disabled."""
    row = (await conn.execute(select(staff).where(staff.c.staff_id == staff_id))).first()
    if row is None or not row.active:
        return None
    return Principal(staff_id=row.staff_id, name=row.display_name, department=row.department,
                     roles=frozenset(Role(r) for r in json.loads(row.roles)), township_code=row.township_code)
