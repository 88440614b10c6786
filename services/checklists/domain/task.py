"""Monthly responsibility checklists (工作责任清单): the month's list and its tasks, one stream per task.

A task is open until it is completed (reported complete, or its target reached when it says so) or
cancelled; both are final. Only the issuer may extend a deadline: that is an authorisation check of
the application layer, which finds the issuer in :attr:`Task.issuer_department`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from functools import singledispatch

from services.checklists.domain import checks
from shared import deadlines
from shared.catalogue import EventPayload
from shared.catalogue.worklists import (
    CompletionHow,
    TaskCancelled,
    TaskCompleted,
    TaskDeadlineExtended,
    TaskIssued,
    TaskListIssued,
    TaskProgressReported,
    TaskStatus,
)
from shared.errors import DomainRuleViolated, InvalidInput

_ORG_UNIT_DIGITS = 12


def tasklist_stream_id(issuer_department: str, month: str) -> str:
    """An issuer has one list per month: the stream id says which."""
    return f"tasklist-{issuer_department}-{month}"


def task_stream_id(task_id: str) -> str:
    """Each task is its own stream, so that updates to different tasks never conflict."""
    return f"task-{task_id}"


def is_overdue(deadline: date, status: TaskStatus, today: date) -> bool:
    """Deadline passed and not done: derived from the clock, not from an event."""
    return status == "open" and deadlines.is_overdue(deadline, today)


def is_due_soon(deadline: date, status: TaskStatus, today: date) -> bool:
    """Still open, deadline today or within the next ``shared.deadlines.DUE_SOON_DAYS`` days."""
    return status == "open" and deadlines.is_due_soon(deadline, today)


# --- the month's list --------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskList:
    """A monthly list as issued."""

    list_id: str
    month: str
    title: str
    issuer_department: str
    issued_on: date


def evolve_list(state: TaskList | None, event: EventPayload) -> TaskList:
    """Apply one event to a task list."""
    if not isinstance(event, TaskListIssued):
        raise TypeError(f"a tasklist stream cannot hold {type(event).__name__}")
    return TaskList(event.list_id, event.month, event.title, event.issuer_department, event.issued_on)


def issue_list(
    tasklist: TaskList | None, *, issuer_department: str, month: str, title: str, issued_on: date, today: date
) -> list[EventPayload]:
    """Open the issuer's list for a month (once)."""
    month = checks.month(month)
    issuer_department = checks.text(issuer_department, "issuer_department", what="the issuer")
    if tasklist is not None:
        raise DomainRuleViolated(
            f"{issuer_department} already issued the list for {month} ({tasklist.list_id})"
        )
    checks.not_future(issued_on, today, "issued_on", what="issue date")
    return [
        TaskListIssued(
            list_id=tasklist_stream_id(issuer_department, month),
            month=month,
            title=checks.text(title, "title", what="the list's title"),
            issuer_department=issuer_department,
            issued_on=issued_on,
        )
    ]


# --- tasks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """A task's state as folded from its stream."""

    task_id: str
    list_id: str
    month: str
    issuer_department: str
    title: str
    responsible_department: str
    org_unit_code: str | None
    assignee: str | None
    metric: str
    unit: str
    target_value: float
    complete_when_target_reached: bool
    issued_on: date
    deadline: date
    status: TaskStatus = "open"
    value_reached: float = 0.0
    last_reported_on: date | None = None
    completed_on: date | None = None
    completed_how: CompletionHow | None = None
    cancel_reason: str | None = None
    extensions: tuple[tuple[date, str], ...] = ()


def evolve(state: Task | None, event: EventPayload) -> Task:
    """Apply one event to a task."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: Task | None) -> Task:
    raise TypeError(f"a task stream cannot hold {type(event).__name__}")


@_apply.register
def _(event: TaskIssued, state: Task | None) -> Task:
    return Task(
        task_id=event.task_id, list_id=event.list_id, month=event.month,
        issuer_department=event.issuer_department, title=event.title,
        responsible_department=event.responsible_department, org_unit_code=event.org_unit_code,
        assignee=event.assignee, metric=event.metric, unit=event.unit, target_value=event.target_value,
        complete_when_target_reached=event.complete_when_target_reached,
        issued_on=event.issued_on, deadline=event.deadline,
    )


@_apply.register
def _(event: TaskProgressReported, state: Task) -> Task:
    return replace(state, value_reached=event.value_reached, last_reported_on=event.reported_on)


@_apply.register
def _(event: TaskCompleted, state: Task) -> Task:
    return replace(state, status="completed", completed_on=event.completed_on, completed_how=event.how)


@_apply.register
def _(event: TaskDeadlineExtended, state: Task) -> Task:
    return replace(state, deadline=event.new_deadline,
                   extensions=(*state.extensions, (event.new_deadline, event.reason)))


@_apply.register
def _(event: TaskCancelled, state: Task) -> Task:
    return replace(state, status="cancelled", cancel_reason=event.reason)


def issue_task(
    task: Task | None,
    tasklist: TaskList,
    *,
    task_id: str,
    title: str,
    description: str,
    responsible_department: str,
    org_unit_code: str | None,
    assignee: str | None,
    metric: str,
    unit: str,
    target_value: float,
    complete_when_target_reached: bool,
    issued_on: date,
    deadline: date,
    known_departments: Collection[str],
    today: date,
) -> list[EventPayload]:
    """Add a task to a month's list: a responsible department, a quantified target, a deadline."""
    if task is not None:
        raise DomainRuleViolated(f"task {task_id} already exists")
    if responsible_department not in known_departments:
        raise InvalidInput(f"unknown department {responsible_department!r}", field="responsible_department")
    if org_unit_code is not None and not (len(org_unit_code) == _ORG_UNIT_DIGITS and org_unit_code.isdigit()):
        raise InvalidInput(f"org unit code {org_unit_code!r} is not a 12-digit division code",
                           field="org_unit_code")
    checks.not_future(issued_on, today, "issued_on", what="issue date")
    if issued_on < tasklist.issued_on:
        raise InvalidInput(f"issue date {issued_on} is before the list {tasklist.list_id} was issued "
                           f"({tasklist.issued_on})", field="issued_on")
    if deadline < issued_on:
        raise InvalidInput(f"deadline {deadline} is before the issue date {issued_on}", field="deadline")
    return [
        TaskIssued(
            task_id=task_id, list_id=tasklist.list_id, month=tasklist.month,
            issuer_department=tasklist.issuer_department,
            title=checks.text(title, "title", what="the task's title"),
            description=checks.text(description, "description", what="a description", max_length=4000),
            responsible_department=responsible_department,
            org_unit_code=org_unit_code,
            assignee=checks.optional_text(assignee, "assignee", what="the assignee"),
            metric=checks.text(metric, "metric", what="the metric", max_length=100),
            unit=checks.text(unit, "unit", what="the unit", max_length=20),
            target_value=checks.number(target_value, "target_value", what="the target value", positive=True),
            complete_when_target_reached=complete_when_target_reached,
            issued_on=issued_on, deadline=deadline,
        )
    ]


def _require_open(task: Task, action: str) -> None:
    if task.status == "completed":
        raise DomainRuleViolated(
            f"cannot {action}: task {task.task_id} was already completed on {task.completed_on}"
        )
    if task.status == "cancelled":
        raise DomainRuleViolated(f"cannot {action}: task {task.task_id} was cancelled ({task.cancel_reason})")


def _completed(task: Task, completed_on: date, how: CompletionHow) -> TaskCompleted:
    return TaskCompleted(
        task_id=task.task_id, month=task.month, responsible_department=task.responsible_department,
        completed_on=completed_on, how=how, deadline=task.deadline, on_time=completed_on <= task.deadline,
    )


def _act_date(task: Task, day: date, today: date, field: str, what: str) -> date:
    checks.not_future(day, today, field, what=what)
    if day < task.issued_on:
        raise InvalidInput(f"{what} {day} is before the task was issued ({task.issued_on})", field=field)
    return day


def report_progress(
    task: Task,
    *,
    value_reached: float,
    note: str,
    evidence: list[str],
    reported_on: date,
    today: date,
    complete: bool = False,
) -> list[EventPayload]:
    """Report the cumulative value reached; completes the task if ``complete`` or if it reaches its target
    and the task completes on reaching it."""
    _require_open(task, "report progress")
    value = checks.number(value_reached, "value_reached", what="the value reached", positive=False)
    _act_date(task, reported_on, today, "reported_on", "report date")
    events: list[EventPayload] = [
        TaskProgressReported(
            task_id=task.task_id, month=task.month, responsible_department=task.responsible_department,
            value_reached=value, target_value=task.target_value, note=note.strip(),
            evidence=checks.links(evidence), reported_on=reported_on,
        )
    ]
    if task.complete_when_target_reached and value >= task.target_value:
        events.append(_completed(task, reported_on, "target_reached"))
    elif complete:
        events.append(_completed(task, reported_on, "reported"))
    return events


def complete(task: Task, *, completed_on: date, today: date) -> list[EventPayload]:
    """The responsible department reports the task complete (once; not a cancelled task)."""
    _require_open(task, "complete the task")
    _act_date(task, completed_on, today, "completed_on", "completion date")
    return [_completed(task, completed_on, "reported")]


def extend_deadline(task: Task, *, new_deadline: date, reason: str, today: date) -> list[EventPayload]:
    """Move an open task's deadline later, with a reason (the caller checks the actor is the issuer)."""
    _require_open(task, "extend the deadline")
    why = checks.text(reason, "reason", what="a reason for the extension", max_length=1000)
    if new_deadline <= task.deadline:
        raise InvalidInput(
            f"new deadline {new_deadline} is not later than the current deadline {task.deadline}",
            field="new_deadline",
        )
    if new_deadline < today:
        raise InvalidInput(f"new deadline {new_deadline} has already passed (today is {today})",
                           field="new_deadline")
    return [
        TaskDeadlineExtended(
            task_id=task.task_id, month=task.month, responsible_department=task.responsible_department,
            previous_deadline=task.deadline, new_deadline=new_deadline, reason=why, extended_on=today,
        )
    ]


def cancel(task: Task, *, reason: str, today: date) -> list[EventPayload]:
    """Withdraw an open task, with a reason."""
    _require_open(task, "cancel the task")
    why = checks.text(reason, "reason", what="a reason for cancelling", max_length=1000)
    return [
        TaskCancelled(
            task_id=task.task_id, month=task.month, responsible_department=task.responsible_department,
            reason=why, cancelled_on=today,
        )
    ]
