"""Use cases on the rectification ledger (整改台账).

The inspecting group enters a finding into the ledger and re-checks it (复查销号: close or reopen,
extend the deadline); the responsible unit's department officers report it rectified. The printed
number (ZG-2026-0001) comes from a counter row updated in the same transaction as the entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.inspections.adapters.tables import ledger_counters, rectifications
from services.inspections.application import commands as c
from services.inspections.application import known
from services.inspections.application.deps import InspectionsDeps
from services.inspections.application.groups import load_group, require_member
from services.inspections.application.inspections import load_inspection
from services.inspections.application.streams import append
from services.inspections.domain import rectification as domain
from shared.aggregate import fold
from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.eventstore import Stream

Decide = Callable[[domain.Rectification], Awaitable[list[EventPayload]]]


async def load_rectification(
    conn: AsyncConnection, deps: InspectionsDeps, rectification_id: str
) -> tuple[Stream, domain.Rectification]:
    """A ledger entry's stream and folded state; 404 if there is no such entry."""
    stream = await deps.store.load(conn, rectification_id)
    state = fold(domain.evolve, stream.payloads) if rectification_id.startswith("rect-") else None
    if state is None:
        raise NotFound(f"no rectification {rectification_id}")
    return stream, state


async def next_number(conn: AsyncConnection, year: int) -> str:
    """The next ledger number of ``year``; rolled back with the command if it fails."""
    last = (await conn.execute(select(ledger_counters.c.last).where(ledger_counters.c.year == year))).scalar()
    if last is None:
        await conn.execute(insert(ledger_counters).values(year=year, last=1))
        return domain.ledger_number(year, 1)
    await conn.execute(update(ledger_counters).where(ledger_counters.c.year == year).values(last=last + 1))
    return domain.ledger_number(year, last + 1)


async def _commit(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, stream: Stream,
    before: domain.Rectification | None, events: Sequence[EventPayload], expected_version: int | None,
) -> dict[str, object]:
    state, version = await append(conn, deps, principal, stream, before, events, expected_version, domain.evolve)
    values = {"version": version, "status": state.status, "deadline": state.deadline,
              "reported_on": state.reported_on, "closed_on": state.closed_on, "reopen_count": state.reopen_count}
    if before is None:
        await conn.execute(insert(rectifications).values(
            rectification_id=state.rectification_id, number=state.number, finding_id=state.finding_id,
            inspection_id=state.inspection_id, group_id=state.group_id, township_code=state.township_code,
            responsible_unit=state.responsible_unit, problem=state.problem, measures=state.measures,
            assigned_on=state.assigned_on, **values))
    else:
        await conn.execute(update(rectifications)
                           .where(rectifications.c.rectification_id == state.rectification_id).values(**values))
    return {"rectification_id": state.rectification_id, "number": state.number, "version": version,
            "status": state.status, "deadline": state.deadline.isoformat()}


def _past_or_today(day: date | None, today: date, field: str) -> date:
    if day is None:
        return today
    if day > today:
        raise InvalidInput(f"{field.replace('_', ' ')} {day} is in the future", field=field)
    return day


async def assign(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, inspection_id: str, finding_id: str,
    cmd: c.AssignRectification,
) -> dict[str, object]:
    """Enter a finding into the ledger for a responsible unit, with measures and a deadline."""
    action = "entering a finding into the rectification ledger"
    _, inspection = await load_inspection(conn, deps, inspection_id)
    _, group = await load_group(conn, deps, inspection.group_id)
    require_member(principal, group, action)
    assigned_on = _past_or_today(cmd.assigned_on, deps.today(), "assigned_on")
    if inspection.started_on is not None and assigned_on < inspection.started_on:
        raise InvalidInput(f"assigned on {assigned_on}, before the inspection started on {inspection.started_on}",
                           field="assigned_on")
    stream = await deps.store.load(conn, domain.rectification_id_for(finding_id))
    existing = fold(domain.evolve, stream.payloads)
    number = None if existing is not None else await next_number(conn, assigned_on.year)
    events = domain.assign(existing, inspection, finding_id=finding_id, responsible_unit=cmd.responsible_unit,
                           measures=cmd.measures, deadline=cmd.deadline, number=number,
                           known_units=await known.department_codes(conn), today=assigned_on)
    return await _commit(conn, deps, principal, stream, None, events, 0)


async def _by_group(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, rectification_id: str,
    cmd: c.VersionedCommand, action: str, decide: Decide,
) -> dict[str, object]:
    stream, rect = await load_rectification(conn, deps, rectification_id)
    _, group = await load_group(conn, deps, rect.group_id)
    require_member(principal, group, action)
    return await _commit(conn, deps, principal, stream, rect, await decide(rect), cmd.expected_version)


async def report(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, rectification_id: str,
    cmd: c.ReportRectification,
) -> dict[str, object]:
    """The responsible unit's department officer reports it rectified, with the measures and evidence."""
    stream, rect = await load_rectification(conn, deps, rectification_id)
    if not (principal.has(Role.DEPARTMENT_OFFICER) and principal.department == rect.responsible_unit):
        raise Forbidden(
            f"reporting rectification {rect.number or rect.rectification_id}: only department officers of "
            f"{rect.responsible_unit}, the responsible unit, may report it; {principal.staff_id} is "
            f"{principal.role_list()} of {principal.department}")
    today = deps.today()
    events = domain.report(rect, measures_taken=cmd.measures_taken, evidence=cmd.evidence,
                           reported_on=cmd.reported_on or today, today=today)
    return await _commit(conn, deps, principal, stream, rect, events, cmd.expected_version)


async def verify(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, rectification_id: str,
    cmd: c.VerifyRectification,
) -> dict[str, object]:
    """An inspector of the group re-checks and closes it (复查销号), with a note and evidence."""
    async def decide(rect: domain.Rectification) -> list[EventPayload]:
        today = deps.today()
        return domain.verify(rect, verifier=principal.staff_id, verified_on=cmd.verified_on or today,
                             note=cmd.note, evidence=cmd.evidence, today=today)
    return await _by_group(conn, deps, principal, rectification_id, cmd, "closing a rectification", decide)


async def reopen(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, rectification_id: str,
    cmd: c.ReopenRectification,
) -> dict[str, object]:
    """An inspector of the group finds it not done and sends it back, with the reason."""
    async def decide(rect: domain.Rectification) -> list[EventPayload]:
        today = deps.today()
        return domain.reopen(rect, reopened_by=principal.staff_id, reason=cmd.reason,
                             reopened_on=cmd.reopened_on or today, today=today)
    return await _by_group(conn, deps, principal, rectification_id, cmd, "reopening a rectification", decide)


async def extend_deadline(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, rectification_id: str,
    cmd: c.ExtendDeadline,
) -> dict[str, object]:
    """The group moves the deadline later, with the reason."""
    async def decide(rect: domain.Rectification) -> list[EventPayload]:
        return domain.extend_deadline(rect, deadline=cmd.deadline, reason=cmd.reason, today=deps.today())
    return await _by_group(conn, deps, principal, rectification_id, cmd, "extending a deadline", decide)
