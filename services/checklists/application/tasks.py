"""Use cases on monthly task lists and their tasks.

The issuer's instance writes ``tasklist-*`` and ``task-{id}`` (issue, extend, cancel); the responsible
department's instance writes ``taskwork-{id}`` (progress, completion). See ``domain/ownership.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.checklists.adapters.tables import departments, task_lists
from services.checklists.application import commands as c
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.application.streams import load_task, refresh
from services.checklists.application.views import task_json
from services.checklists.domain import task as domain
from shared.aggregate import fold
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.errors import ConcurrencyConflict, Forbidden, InvalidInput, NotFound
from shared.eventstore import ANY_VERSION, Stream
from shared.ids import new_id
from shared.projection import Upsert, apply_sql


def writable(deps: ChecklistsDeps, stream: Stream) -> Stream:
    """``stream`` if this instance writes it; a replica of another instance's stream is read-only."""
    if stream.events and stream.events[0].envelope.department != deps.department:
        owner = stream.events[0].envelope.department
        raise Forbidden(f"{stream.stream_id} is written by the {owner} instance, not this {deps.department} one")
    return stream


def unchanged(stream: Stream, expected_version: int | None) -> Stream:
    """``stream`` if it is still at the version the caller saw: a stale caller hears 409 before any rule."""
    if expected_version is not None and expected_version not in (ANY_VERSION, stream.version):
        raise ConcurrencyConflict(stream.stream_id, expected_version, stream.version)
    return stream


async def append(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, stream: Stream,
    events: Sequence[EventPayload], expected_version: int | None,
) -> int:
    """Append to one of our own streams; the stream's new version."""
    envelopes = await deps.store.append(conn, writable(deps, stream), events, deps.context(principal),
                                        expected_version=expected_version)
    return envelopes[-1].stream_version if envelopes else stream.version


async def known_departments(conn: AsyncConnection) -> set[str]:
    """Departments the registry has announced (learned from its events, never asked)."""
    return set((await conn.execute(select(departments.c.code))).scalars())


async def issue_list(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, cmd: c.IssueTaskList
) -> dict[str, Any]:
    """Open this issuer's responsibility checklist for a month."""
    deps.require_issuer(principal, "issuing a task list")
    stream = await deps.store.load(conn, domain.tasklist_stream_id(deps.department, cmd.month))
    current = fold(domain.evolve_list, stream.payloads)
    today = deps.today()
    events = domain.issue_list(current, issuer_department=deps.department, month=cmd.month, title=cmd.title,
                               issued_on=cmd.issued_on or today, today=today)
    version = await append(conn, deps, principal, stream, events, None)
    issued = fold(domain.evolve_list, events)
    assert issued is not None
    await apply_sql(conn, [Upsert(task_lists, {"list_id": issued.list_id}, {
        "month": issued.month, "title": issued.title, "issuer_department": issued.issuer_department,
        "issued_on": issued.issued_on, "version": version})])
    return {"list_id": issued.list_id, "month": issued.month, "version": version}


async def issue_task(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, month: str, cmd: c.IssueTask
) -> dict[str, Any]:
    """Add a task to the month's list, for a department the registry knows."""
    deps.require_issuer(principal, "issuing a task")
    list_stream = await deps.store.load(conn, domain.tasklist_stream_id(deps.department, month))
    tasklist = fold(domain.evolve_list, list_stream.payloads)
    if tasklist is None:
        raise NotFound(f"no task list for {month}: issue the month's list first (POST /task-lists)")
    known = await known_departments(conn)
    if cmd.responsible_department not in known:
        listed = ", ".join(sorted(known)) or "none yet"
        raise InvalidInput(f"unknown department {cmd.responsible_department!r}: departments come from the "
                           f"registry's events (known here: {listed})", field="responsible_department")
    task_id = new_id()
    today = deps.today()
    events = domain.issue_task(
        None, tasklist, task_id=task_id, title=cmd.title, description=cmd.description,
        responsible_department=cmd.responsible_department, org_unit_code=cmd.org_unit_code,
        assignee=cmd.assignee, metric=cmd.metric, unit=cmd.unit, target_value=cmd.target_value,
        complete_when_target_reached=cmd.complete_when_target_reached, issued_on=cmd.issued_on or today,
        deadline=cmd.deadline, known_departments=known, today=today,
    )
    stream = Stream(domain.task_stream_id(task_id), 0, "", [])
    await append(conn, deps, principal, stream, events, 0)
    await refresh(conn, deps, stream.stream_id)
    return await task_json(conn, task_id, today)


Decide = Callable[[domain.Task, date], list[EventPayload]]


async def _change(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, task_id: str, expected_version: int | None,
    half: Literal["issue", "work"], action: str, decide: Decide,
) -> dict[str, Any]:
    """Authorise for the half this command writes, refuse a stale version, decide, append, refresh."""
    if half == "issue":
        deps.require_issuer(principal, action)
    halves = await load_task(conn, deps, task_id)
    if half == "work":
        deps.require_worker(principal, halves.state.responsible_department, action)
    stream = unchanged(halves.issue if half == "issue" else halves.work, expected_version)
    today = deps.today()
    await append(conn, deps, principal, stream, decide(halves.state, today), expected_version)
    await refresh(conn, deps, stream.stream_id)
    return await task_json(conn, task_id, today)


async def report_progress(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, task_id: str, cmd: c.ReportProgress
) -> dict[str, Any]:
    """The responsible department reports the cumulative value reached (and perhaps completion)."""
    def decide(task: domain.Task, today: date) -> list[EventPayload]:
        return domain.report_progress(task, value_reached=cmd.value_reached, note=cmd.note, evidence=cmd.evidence,
                                      reported_on=cmd.reported_on or today, today=today, complete=cmd.complete)
    return await _change(conn, deps, principal, task_id, cmd.expected_version, "work", "reporting progress", decide)


async def complete_task(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, task_id: str, cmd: c.CompleteTask
) -> dict[str, Any]:
    """The responsible department reports the task complete."""
    def decide(task: domain.Task, today: date) -> list[EventPayload]:
        return domain.complete(task, completed_on=cmd.completed_on or today, today=today)
    return await _change(conn, deps, principal, task_id, cmd.expected_version, "work", "completing a task", decide)


async def extend_deadline(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, task_id: str, cmd: c.ExtendDeadline
) -> dict[str, Any]:
    """The issuer moves an open task's deadline later, with a reason."""
    def decide(task: domain.Task, today: date) -> list[EventPayload]:
        return domain.extend_deadline(task, new_deadline=cmd.new_deadline, reason=cmd.reason, today=today)
    return await _change(conn, deps, principal, task_id, cmd.expected_version, "issue", "extending a deadline",
                         decide)


async def cancel_task(
    conn: AsyncConnection, deps: ChecklistsDeps, principal: Principal, task_id: str, cmd: c.CancelTask
) -> dict[str, Any]:
    """The issuer withdraws an open task, with a reason."""
    def decide(task: domain.Task, today: date) -> list[EventPayload]:
        return domain.cancel(task, reason=cmd.reason, today=today)
    return await _change(conn, deps, principal, task_id, cmd.expected_version, "issue", "cancelling a task", decide)
