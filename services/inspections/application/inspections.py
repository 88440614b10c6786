"""Use cases on inspections (督导检查): run by the members of the inspecting group."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.inspections.adapters.tables import inspections
from services.inspections.application import commands as c
from services.inspections.application import known
from services.inspections.application.deps import InspectionsDeps
from services.inspections.application.groups import load_group, require_member
from services.inspections.application.streams import append
from services.inspections.domain import inspection as domain
from shared.aggregate import fold
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.errors import InvalidInput, NotFound
from shared.eventstore import Stream
from shared.ids import new_id

Decide = Callable[[domain.Inspection], Awaitable[list[EventPayload]]]


def inspection_stream_id(inspection_id: str) -> str:
    """The stream holding one inspection's events (and its findings)."""
    return f"inspection-{inspection_id}"


async def load_inspection(
    conn: AsyncConnection, deps: InspectionsDeps, inspection_id: str
) -> tuple[Stream, domain.Inspection]:
    """An inspection's stream and folded state; 404 if there is no such inspection."""
    stream = await deps.store.load(conn, inspection_stream_id(inspection_id))
    state = fold(domain.evolve, stream.payloads)
    if state is None:
        raise NotFound(f"no inspection {inspection_id}")
    return stream, state


async def _commit(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, stream: Stream,
    before: domain.Inspection | None, events: Sequence[EventPayload], expected_version: int | None,
) -> dict[str, object]:
    state, version = await append(conn, deps, principal, stream, before, events, expected_version, domain.evolve)
    values = {"version": version, "status": state.status, "started_on": state.started_on,
              "completed_on": state.completed_on, "score": state.score, "findings": len(state.findings)}
    if before is None:
        await conn.execute(insert(inspections).values(
            inspection_id=state.inspection_id, group_id=state.group_id, target_kind=state.target_kind,
            target_code=state.target_code, target_name=state.target_name, township_code=state.township_code,
            template_id=state.template_id, template_version=state.template_version,
            scheduled_on=state.scheduled_on, **values))
    else:
        await conn.execute(update(inspections).where(inspections.c.inspection_id == state.inspection_id)
                           .values(**values))
    return {"inspection_id": state.inspection_id, "version": version, "status": state.status,
            "score": state.score}


async def _target(conn: AsyncConnection, cmd: c.ScheduleInspection) -> tuple[str, str | None]:
    """The target's name and township, from what the registry has published."""
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
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, cmd: c.ScheduleInspection
) -> dict[str, object]:
    """A group schedules an inspection of a target it covers, with a published template version."""
    action = "scheduling an inspection"
    _, group = await load_group(conn, deps, cmd.group_id)
    require_member(principal, group, action)
    template = await known.template(conn, cmd.template_id, cmd.template_version)
    target_name, township = await _target(conn, cmd)
    inspection_id = new_id()
    events = domain.schedule(None, group, template, inspection_id=inspection_id, target_kind=cmd.target_kind,
                             target_code=cmd.target_code, target_name=target_name, township_code=township,
                             scheduled_on=cmd.scheduled_on)
    stream = Stream(inspection_stream_id(inspection_id), 0, "", [])
    return await _commit(conn, deps, principal, stream, None, events, 0)


async def _change(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, inspection_id: str,
    cmd: c.VersionedCommand, action: str, decide: Decide,
) -> dict[str, object]:
    stream, inspection = await load_inspection(conn, deps, inspection_id)
    _, group = await load_group(conn, deps, inspection.group_id)
    require_member(principal, group, action)
    events = await decide(inspection)
    return await _commit(conn, deps, principal, stream, inspection, events, cmd.expected_version)


async def start(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, inspection_id: str, cmd: c.StartInspection
) -> dict[str, object]:
    """The group arrives: the inspection is under way."""
    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        today = deps.today()
        return domain.start(inspection, started_on=cmd.started_on or today, today=today)
    return await _change(conn, deps, principal, inspection_id, cmd, "starting an inspection", decide)


async def record_item(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, inspection_id: str, item_id: str,
    cmd: c.RecordItem,
) -> dict[str, object]:
    """Record (or correct) one template item's result: pass, fail (with a note) or not applicable."""
    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        template = await known.template(conn, inspection.template_id, inspection.template_version)
        return domain.record_item(inspection, template, item_id=item_id, result=cmd.result, note=cmd.note,
                                  evidence=cmd.evidence)
    return await _change(conn, deps, principal, inspection_id, cmd, "recording an item result", decide)


async def record_focus_check(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, inspection_id: str, person_id: str,
    cmd: c.RecordFocusCheck,
) -> dict[str, object]:
    """Record (or correct) the focus check of a severe or hardship person of the target's township."""
    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        persons = await known.focus_person_ids(conn, inspection.township_code)
        return domain.record_focus_check(
            inspection, person_id=person_id, archive_complete=cmd.archive_complete,
            visited_this_year=cmd.visited_this_year, has_plan=cmd.has_plan, note=cmd.note, focus_persons=persons)
    return await _change(conn, deps, principal, inspection_id, cmd, "recording a focus check", decide)


async def raise_finding(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, inspection_id: str, cmd: c.RaiseFinding
) -> dict[str, object]:
    """Raise a finding from a failed item or a focus check with a "no"."""
    finding_id = new_id()

    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        return domain.raise_finding(inspection, finding_id=finding_id, description=cmd.description,
                                    item_id=cmd.item_id or None, person_id=cmd.person_id or None)
    result = await _change(conn, deps, principal, inspection_id, cmd, "raising a finding", decide)
    return {**result, "finding_id": finding_id}


async def complete(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, inspection_id: str,
    cmd: c.CompleteInspection,
) -> dict[str, object]:
    """Complete the inspection (every item has a result) with its weighted score."""
    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        template = await known.template(conn, inspection.template_id, inspection.template_version)
        today = deps.today()
        return domain.complete(inspection, template, completed_on=cmd.completed_on or today, today=today)
    return await _change(conn, deps, principal, inspection_id, cmd, "completing an inspection", decide)


async def cancel(
    conn: AsyncConnection, deps: InspectionsDeps, principal: Principal, inspection_id: str,
    cmd: c.CancelInspection,
) -> dict[str, object]:
    """Call off a scheduled or started inspection, with the reason."""
    async def decide(inspection: domain.Inspection) -> list[EventPayload]:
        return domain.cancel(inspection, reason=cmd.reason)
    return await _change(conn, deps, principal, inspection_id, cmd, "cancelling an inspection", decide)
