"""Use cases on monthly task lists and their tasks.

The issuer's instance writes ``tasklist-*`` and ``task-{id}`` (issue, extend, cancel); the responsible
department's instance writes ``taskwork-{id}`` (progress, completion). See ``domain/ownership.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from services.checklists.application import access
from services.checklists.application import commands as c
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.application.lookup_rows import TASK_ISSUE, TASK_LIST
from services.checklists.application.lookups import known_departments
from services.checklists.application.views import saved_row, task_rows_json
from services.checklists.domain import task as domain
from shared.auth import Principal
from shared.catalogue import EventPayload
from shared.errors import InvalidInput
from shared.eventstore.repository import Repository
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id


async def issue_list(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, cmd: c.IssueTaskList
) -> dict[str, Any]:
    """Open this issuer's responsibility checklist for a month."""
    deps.require_issuer(principal, access.ISSUING, "issuing a task list")
    tasklist = await deps.repository.find(uow, TASK_LIST, domain.tasklist_stream_id(deps.department, cmd.month))
    today = deps.today()
    events = domain.issue_list(tasklist.state, issuer_department=deps.department, month=cmd.month,
                               title=cmd.title, issued_on=cmd.issued_on or today, today=today)
    saved = await deps.repository.save(uow, TASK_LIST, tasklist, events, deps.context(principal),
                                       expected_version=None)
    return {"list_id": saved.state.list_id, "month": saved.state.month, "version": saved.version}


async def issue_task(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, month: str, cmd: c.IssueTask
) -> dict[str, Any]:
    """Add a task to the month's list, for a department the registry knows."""
    deps.require_issuer(principal, access.ISSUING, "issuing a task")
    tasklist = (await deps.repository.load(
        uow, TASK_LIST, domain.tasklist_stream_id(deps.department, month),
        missing=f"no task list for {month}: issue the month's list first (POST /task-lists)")).state
    known = await known_departments(uow)
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
    issued = Repository.new(TASK_ISSUE, task_id)
    saved = await deps.repository.save(uow, TASK_ISSUE, issued, events, deps.context(principal), expected_version=0)
    return task_rows_json(saved_row(issued.stream, events, saved.version), {}, today)


Decide = Callable[[domain.Task, date], list[EventPayload]]


async def _change(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, task_id: str, expected_version: int | None,
    half: Literal["issue", "work"], action: str, decide: Decide,
) -> dict[str, Any]:
    """Authorise for the half this command writes, refuse a stale version, decide, save that half."""
    if half == "issue":
        deps.require_issuer(principal, access.ISSUING, action)
    halves = await deps.repository.task(uow, task_id)
    if half == "work":
        deps.require_worker(principal, access.TASK_WORK, halves.state.responsible_department, action)
    stream = halves.issue if half == "issue" else halves.work
    stream.check_version(expected_version)  # a stale caller hears 409 before any rule
    today = deps.today()
    events = decide(halves.state, today)
    ctx = deps.context(principal)
    if half == "issue":
        version = (await deps.repository.save(uow, TASK_ISSUE, halves.issued, events, ctx,
                                              expected_version=expected_version)).version
        return task_rows_json(saved_row(halves.issue, events, version), saved_row(halves.work), today)
    version = await deps.repository.save_stream(uow, stream, events, ctx, expected_version=expected_version)
    return task_rows_json(saved_row(halves.issue), saved_row(halves.work, events, version), today)


async def report_progress(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, task_id: str, cmd: c.ReportProgress
) -> dict[str, Any]:
    """The responsible department reports the cumulative value reached (and perhaps completion)."""
    def decide(task: domain.Task, today: date) -> list[EventPayload]:
        return domain.report_progress(task, value_reached=cmd.value_reached, note=cmd.note, evidence=cmd.evidence,
                                      reported_on=cmd.reported_on or today, today=today, complete=cmd.complete)
    return await _change(uow, deps, principal, task_id, cmd.expected_version, "work", "reporting progress", decide)


async def complete_task(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, task_id: str, cmd: c.CompleteTask
) -> dict[str, Any]:
    """The responsible department reports the task complete."""
    def decide(task: domain.Task, today: date) -> list[EventPayload]:
        return domain.complete(task, completed_on=cmd.completed_on or today, today=today)
    return await _change(uow, deps, principal, task_id, cmd.expected_version, "work", "completing a task", decide)


async def extend_deadline(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, task_id: str, cmd: c.ExtendDeadline
) -> dict[str, Any]:
    """The issuer moves an open task's deadline later, with a reason."""
    def decide(task: domain.Task, today: date) -> list[EventPayload]:
        return domain.extend_deadline(task, new_deadline=cmd.new_deadline, reason=cmd.reason, today=today)
    return await _change(uow, deps, principal, task_id, cmd.expected_version, "issue", "extending a deadline",
                         decide)


async def cancel_task(
    uow: UnitOfWork, deps: ChecklistsDeps, principal: Principal, task_id: str, cmd: c.CancelTask
) -> dict[str, Any]:
    """The issuer withdraws an open task, with a reason."""
    def decide(task: domain.Task, today: date) -> list[EventPayload]:
        return domain.cancel(task, reason=cmd.reason, today=today)
    return await _change(uow, deps, principal, task_id, cmd.expected_version, "issue", "cancelling a task", decide)
