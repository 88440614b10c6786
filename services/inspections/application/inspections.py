"""Use cases on inspections (督导检查): run by the members of the inspecting group."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from services.inspections.application import access, known, person_texts
from services.inspections.application import commands as c
from services.inspections.application.deps import InspectionsDeps
from services.inspections.application.lookup_rows import GROUP, INSPECTION
from services.inspections.domain import inspection as domain
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.errors import InvalidInput
from shared.eventstore.repository import Loaded, Repository
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id

Decide = Callable[[domain.Inspection], Awaitable[list[EventPayload]]]


async def _save(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, inspection: Loaded[domain.Inspection | None],
    events: Sequence[EventPayload], expected_version: int | None,
) -> dict[str, object]:
    saved = await deps.repository.save(uow, INSPECTION, inspection, events, deps.context(principal),
                                       expected_version=expected_version)
    state = saved.state
    return {"inspection_id": state.inspection_id, "version": saved.version, "status": state.status,
            "score": state.score}


async def _target(uow: UnitOfWork, cmd: c.ScheduleInspection) -> tuple[str, str | None]:
    """The target's name and township, from what the registry has published."""
    conn = uow.conn
    if cmd.target_kind == "township":
        name = await known.township_name(conn, cmd.target_code, field="target_code")
        return cmd.target_name or name, None
    if cmd.target_kind == "lead_unit":
        name, township = await known.department_target(conn, cmd.target_code)
        return cmd.target_name or name, township
    if cmd.township_code:
        await known.township_name(conn, cmd.township_code, field="township_code")
    if not cmd.target_name:
        raise InvalidInput("a demonstration site needs its name", field="target_name")
    return cmd.target_name, cmd.township_code


async def schedule(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, cmd: c.ScheduleInspection
) -> dict[str, object]:
    """A group schedules an inspection of a target it covers, with a published template version."""
    action = "scheduling an inspection"
    group = (await deps.repository.load(uow, GROUP, cmd.group_id)).state
    access.require_group_work(principal, group, action)
    template = await known.template(uow.conn, cmd.template_id, cmd.template_version)
    target_name, township = await _target(uow, cmd)
    inspection_id = new_id()
    events = domain.schedule(None, group, template, inspection_id=inspection_id, target_kind=cmd.target_kind,
                             target_code=cmd.target_code, target_name=target_name, township_code=township,
                             scheduled_on=cmd.scheduled_on)
    return await _save(uow, deps, principal, Repository.new(INSPECTION, inspection_id), events, 0)


async def _change(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, inspection_id: str,
    cmd: c.VersionedCommand, action: str, decide: Decide,
) -> dict[str, object]:
    inspection = await deps.repository.load(uow, INSPECTION, inspection_id)
    group = (await deps.repository.load(uow, GROUP, inspection.state.group_id)).state
    access.require_group_work(principal, group, action)
    events = await decide(inspection.state)
    return await _save(uow, deps, principal, inspection, events, cmd.expected_version)


async def start(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, inspection_id: str, cmd: c.StartInspection
) -> dict[str, object]:
    """The group arrives: the inspection is under way."""
    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        today = deps.today()
        return domain.start(inspection, started_on=cmd.started_on or today, today=today)
    return await _change(uow, deps, principal, inspection_id, cmd, "starting an inspection", decide)


async def record_item(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, inspection_id: str, item_id: str,
    cmd: c.RecordItem,
) -> dict[str, object]:
    """Record (or correct) one template item's result: pass, fail (with a note) or not applicable."""
    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        template = await known.template(uow.conn, inspection.template_id, inspection.template_version)
        return domain.record_item(inspection, template, item_id=item_id, result=cmd.result, note=cmd.note,
                                  evidence=cmd.evidence)
    return await _change(uow, deps, principal, inspection_id, cmd, "recording an item result", decide)


async def record_focus_check(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, inspection_id: str, person_id: str,
    cmd: c.RecordFocusCheck,
) -> dict[str, object]:
    """Record (or correct) the focus check of a severe or hardship person of the target's township."""
    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        persons = await known.focus_person_ids(uow.conn, inspection.township_code)
        seal = await person_texts.sealer(uow, deps.vault, person_id if cmd.note.strip() else None,
                                         f"inspection/{inspection_id}")
        return domain.record_focus_check(
            inspection, person_id=person_id, archive_complete=cmd.archive_complete,
            visited_this_year=cmd.visited_this_year, has_plan=cmd.has_plan, note=cmd.note, focus_persons=persons,
            seal=seal)
    return await _change(uow, deps, principal, inspection_id, cmd, "recording a focus check", decide)


async def raise_finding(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, inspection_id: str, cmd: c.RaiseFinding
) -> dict[str, object]:
    """Raise a finding from a failed item or a focus check with a "no"."""
    finding_id = new_id()

    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        seal = await person_texts.sealer(uow, deps.vault, cmd.person_id or None, f"inspection/{inspection_id}")
        return domain.raise_finding(inspection, finding_id=finding_id, description=cmd.description, seal=seal,
                                    item_id=cmd.item_id or None, person_id=cmd.person_id or None)
    result = await _change(uow, deps, principal, inspection_id, cmd, "raising a finding", decide)
    return {**result, "finding_id": finding_id}


async def complete(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, inspection_id: str,
    cmd: c.CompleteInspection,
) -> dict[str, object]:
    """Complete the inspection (every item has a result) with its weighted score."""
    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        template = await known.template(uow.conn, inspection.template_id, inspection.template_version)
        today = deps.today()
        return domain.complete(inspection, template, completed_on=cmd.completed_on or today, today=today)
    return await _change(uow, deps, principal, inspection_id, cmd, "completing an inspection", decide)


async def cancel(
    uow: UnitOfWork, deps: InspectionsDeps, principal: Principal, inspection_id: str,
    cmd: c.CancelInspection,
) -> dict[str, object]:
    """Call off a scheduled or started inspection, with the reason."""
    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        return domain.cancel(inspection, reason=cmd.reason)
    return await _change(uow, deps, principal, inspection_id, cmd, "cancelling an inspection", decide)
