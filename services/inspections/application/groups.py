"""Use cases on inspection groups (督导组): formed and changed by federation admins only."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.inspections.adapters.tables import groups
from services.inspections.application import commands as c
from services.inspections.application import known
from services.inspections.application.deps import InspectionsDeps
from services.inspections.application.streams import append
from services.inspections.domain import group as domain
from shared.aggregate import fold
from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.errors import Forbidden, NotFound
from shared.eventstore import Stream
from shared.ids import new_id


def group_stream_id(group_id: str) -> str:
    """The stream holding one group's events."""
    return f"group-{group_id}"


async def load_group(conn: AsyncConnection, deps: InspectionsDeps, group_id: str) -> tuple[Stream, domain.Group]:
    """A group's stream and folded state; 404 if there is no such group."""
    stream = await deps.store.load(conn, group_stream_id(group_id))
    state = fold(domain.evolve, stream.payloads)
    if state is None:
        raise NotFound(f"no inspection group {group_id}")
    return stream, state


def require_member(principal: Principal, group: domain.Group, action: str) -> None:
    """Only members of the group (its leader included) act for it."""
    if not group.is_member(principal.staff_id):
        raise Forbidden(f"{action}: {principal.staff_id} is not a member of {group.name} ({group.group_id}); "
                        f"its members are {', '.join(sorted(group.members))}")


async def _commit(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, stream: Stream,
    before: domain.Group | None, events: Sequence[EventPayload], expected_version: int | None,
) -> dict[str, object]:
    state, version = await append(conn, deps, principal, stream, before, events, expected_version, domain.evolve)
    values = {"version": version, "name": state.name, "leader": state.leader,
              "members": json.dumps(sorted(state.members)),
              "township_codes": json.dumps(sorted(state.township_codes)),
              "unit_codes": json.dumps(sorted(state.unit_codes))}
    if before is None:
        await conn.execute(insert(groups).values(group_id=state.group_id, **values))
    elif events:
        await conn.execute(update(groups).where(groups.c.group_id == state.group_id).values(**values))
    return {"group_id": state.group_id, "version": version}


async def form_group(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, cmd: c.FormGroup
) -> dict[str, object]:
    """Form a group with a leader, members, and the townships and lead units it covers."""
    principal.require(Role.FEDERATION_ADMIN, action="forming an inspection group")
    group_id = new_id()
    events = domain.form(
        None, group_id=group_id, name=cmd.name, leader=cmd.leader, members=cmd.members,
        township_codes=cmd.township_codes, unit_codes=cmd.unit_codes,
        known_staff=await known.staff_ids(conn), known_townships=await known.township_codes(conn),
        known_units=await known.department_codes(conn),
    )
    stream = Stream(group_stream_id(group_id), 0, "", [])
    return await _commit(conn, deps, principal, stream, None, events, 0)


async def change_membership(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, group_id: str, cmd: c.ChangeMembership
) -> dict[str, object]:
    """Replace a group's leader and members."""
    principal.require(Role.FEDERATION_ADMIN, action="changing a group's members")
    stream, group = await load_group(conn, deps, group_id)
    events = domain.change_membership(group, leader=cmd.leader, members=cmd.members,
                                      known_staff=await known.staff_ids(conn))
    return await _commit(conn, deps, principal, stream, group, events, cmd.expected_version)


async def change_coverage(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, group_id: str, cmd: c.ChangeCoverage
) -> dict[str, object]:
    """Replace the townships and lead units a group covers."""
    principal.require(Role.FEDERATION_ADMIN, action="changing what a group covers")
    stream, group = await load_group(conn, deps, group_id)
    events = domain.change_coverage(group, township_codes=cmd.township_codes, unit_codes=cmd.unit_codes,
                                    known_townships=await known.township_codes(conn),
                                    known_units=await known.department_codes(conn))
    return await _commit(conn, deps, principal, stream, group, events, cmd.expected_version)
