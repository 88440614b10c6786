"""Use cases on inspection groups (督导组): formed and changed by federation admins only."""

from __future__ import annotations

from collections.abc import Sequence

from services.inspections.application import access, known
from services.inspections.application import commands as c
from services.inspections.application.deps import InspectionsDeps
from services.inspections.application.lookup_rows import GROUP
from services.inspections.domain import group as domain
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.eventstore.repository import Loaded, Repository
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id


async def _save(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, group: Loaded[domain.Group | None],
    events: Sequence[EventPayload], expected_version: int | None,
) -> dict[str, object]:
    saved = await deps.repository.save(uow, GROUP, group, events, deps.context(principal),
                                       expected_version=expected_version)
    return {"group_id": saved.state.group_id, "version": saved.version}


async def form_group(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, cmd: c.FormGroup
) -> dict[str, object]:
    """Form a group with a leader, members, and the townships and lead units it covers."""
    access.GROUPS.require(principal, "forming an inspection group")
    group_id = new_id()
    events = domain.form(
        None, group_id=group_id, name=cmd.name, leader=cmd.leader, members=cmd.members,
        township_codes=cmd.township_codes, unit_codes=cmd.unit_codes,
        known_staff=await known.staff_ids(uow.conn), known_townships=await known.township_codes(uow.conn),
        known_units=await known.department_codes(uow.conn),
    )
    return await _save(uow, deps, principal, Repository.new(GROUP, group_id), events, 0)


async def change_membership(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, group_id: str, cmd: c.ChangeMembership
) -> dict[str, object]:
    """Replace a group's leader and members."""
    access.GROUPS.require(principal, "changing a group's members")
    group = await deps.repository.load(uow, GROUP, group_id)
    events = domain.change_membership(group.state, leader=cmd.leader, members=cmd.members,
                                      known_staff=await known.staff_ids(uow.conn))
    return await _save(uow, deps, principal, group, events, cmd.expected_version)


async def change_coverage(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, group_id: str, cmd: c.ChangeCoverage
) -> dict[str, object]:
    """Replace the townships and lead units a group covers."""
    access.GROUPS.require(principal, "changing what a group covers")
    group = await deps.repository.load(uow, GROUP, group_id)
    events = domain.change_coverage(group.state, township_codes=cmd.township_codes, unit_codes=cmd.unit_codes,
                                    known_townships=await known.township_codes(uow.conn),
                                    known_units=await known.department_codes(uow.conn))
    return await _save(uow, deps, principal, group, events, cmd.expected_version)
