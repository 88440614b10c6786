"""Use cases on the rectification ledger (整改台账).

The inspecting group enters a finding into the ledger and re-checks it (复查销号: close or reopen,
extend the deadline); the responsible unit's department officers report it rectified. The printed
number (ZG-2026-0001) comes from a counter row updated in the same transaction as the entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date

from services.inspections.adapters.tables import ledger_counters
from services.inspections.application import access, known
from services.inspections.application import commands as c
from services.inspections.application.deps import InspectionsDeps
from services.inspections.application.lookup_rows import GROUP, INSPECTION, RECTIFICATION
from services.inspections.domain import rectification as domain
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.errors import Forbidden, InvalidInput
from shared.eventstore.repository import Loaded
from shared.eventstore.unit_of_work import UnitOfWork

Decide = Callable[[domain.Rectification], Awaitable[list[EventPayload]]]


async def next_number(uow: UnitOfWork, year: int) -> str:
    """The next ledger number of ``year``; rolled back with the command if it fails."""
    row = await uow.find(ledger_counters, year=year)
    last = 0 if row is None else int(row["last"])
    if row is None:
        await uow.insert(ledger_counters, {"year": year, "last": 1})
    else:
        await uow.update(ledger_counters, {"year": year}, {"last": last + 1})
    return domain.ledger_number(year, last + 1)


async def _save(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, rect: Loaded[domain.Rectification | None],
    events: Sequence[EventPayload], expected_version: int | None,
) -> dict[str, object]:
    saved = await deps.repository.save(uow, RECTIFICATION, rect, events, deps.context(principal),
                                       expected_version=expected_version)
    state = saved.state
    return {"rectification_id": state.rectification_id, "number": state.number, "version": saved.version,
            "status": state.status, "deadline": state.deadline.isoformat()}


def _past_or_today(day: date | None, today: date, field: str) -> date:
    if day is None:
        return today
    if day > today:
        raise InvalidInput(f"{field.replace('_', ' ')} {day} is in the future", field=field)
    return day


async def assign(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, inspection_id: str, finding_id: str,
    cmd: c.AssignRectification,
) -> dict[str, object]:
    """Enter a finding into the ledger for a responsible unit, with measures and a deadline."""
    action = "entering a finding into the rectification ledger"
    inspection = (await deps.repository.load(uow, INSPECTION, inspection_id)).state
    group = (await deps.repository.load(uow, GROUP, inspection.group_id)).state
    access.require_group_work(principal, group, action)
    assigned_on = _past_or_today(cmd.assigned_on, deps.today(), "assigned_on")
    if inspection.started_on is not None and assigned_on < inspection.started_on:
        raise InvalidInput(f"assigned on {assigned_on}, before the inspection started on {inspection.started_on}",
                           field="assigned_on")
    rect = await deps.repository.find(uow, RECTIFICATION, domain.rectification_id_for(finding_id))
    number = None if rect.state is not None else await next_number(uow, assigned_on.year)
    events = domain.assign(rect.state, inspection, finding_id=finding_id, responsible_unit=cmd.responsible_unit,
                           measures=cmd.measures, deadline=cmd.deadline, number=number,
                           known_units=await known.department_codes(uow.conn), today=assigned_on)
    return await _save(uow, deps, principal, rect, events, 0)


async def _by_group(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, rectification_id: str,
    cmd: c.VersionedCommand, action: str, decide: Decide,
) -> dict[str, object]:
    rect = await deps.repository.load(uow, RECTIFICATION, rectification_id)
    group = (await deps.repository.load(uow, GROUP, rect.state.group_id)).state
    access.require_group_work(principal, group, action)
    return await _save(uow, deps, principal, rect, await decide(rect.state), cmd.expected_version)


async def report(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, rectification_id: str,
    cmd: c.ReportRectification,
) -> dict[str, object]:
    """The responsible unit's department officer reports it rectified, with the measures and evidence."""
    loaded = await deps.repository.load(uow, RECTIFICATION, rectification_id)
    rect = loaded.state
    if not (access.RECTIFYING.allows(principal) and principal.department == rect.responsible_unit):
        raise Forbidden(
            f"reporting rectification {rect.number or rect.rectification_id}: only department officers of "
            f"{rect.responsible_unit}, the responsible unit, may report it; {principal.staff_id} is "
            f"{principal.role_list()} of {principal.department}")
    today = deps.today()
    events = domain.report(rect, measures_taken=cmd.measures_taken, evidence=cmd.evidence,
                           reported_on=cmd.reported_on or today, today=today)
    return await _save(uow, deps, principal, loaded, events, cmd.expected_version)


async def verify(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, rectification_id: str,
    cmd: c.VerifyRectification,
) -> dict[str, object]:
    """An inspector of the group re-checks and closes it (复查销号), with a note and evidence."""
    async def decide(rect: domain.Rectification) -> list[EventPayload]:
        today = deps.today()
        return domain.verify(rect, verifier=principal.staff_id, verified_on=cmd.verified_on or today,
                             note=cmd.note, evidence=cmd.evidence, today=today)
    return await _by_group(uow, deps, principal, rectification_id, cmd, "closing a rectification", decide)


async def reopen(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, rectification_id: str,
    cmd: c.ReopenRectification,
) -> dict[str, object]:
    """An inspector of the group finds it not done and sends it back, with the reason."""
    async def decide(rect: domain.Rectification) -> list[EventPayload]:
        today = deps.today()
        return domain.reopen(rect, reopened_by=principal.staff_id, reason=cmd.reason,
                             reopened_on=cmd.reopened_on or today, today=today)
    return await _by_group(uow, deps, principal, rectification_id, cmd, "reopening a rectification", decide)


async def extend_deadline(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, rectification_id: str,
    cmd: c.ExtendDeadline,
) -> dict[str, object]:
    """The group moves the deadline later, with the reason."""
    async def decide(rect: domain.Rectification) -> list[EventPayload]:
        return domain.extend_deadline(rect, deadline=cmd.deadline, reason=cmd.reason, today=deps.today())
    return await _by_group(uow, deps, principal, rectification_id, cmd, "extending a deadline", decide)
