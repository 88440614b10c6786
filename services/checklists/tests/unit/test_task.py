"""Monthly lists and tasks: given events, when a command, then events or a refusal."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from services.checklists.domain import task as t
from shared.aggregate import fold
from shared.catalogue import EventPayload
from shared.catalogue.worklists import (
    HighlightApproved,
    TaskCancelled,
    TaskCompleted,
    TaskDeadlineExtended,
    TaskIssued,
    TaskListIssued,
    TaskProgressReported,
)
from shared.errors import DomainRuleViolated, InvalidInput, QingdanError

pytestmark = pytest.mark.unit

TODAY = date(2025, 3, 10)
DEPARTMENTS = {"federation", "civil_affairs", "health"}

LIST_ISSUED = TaskListIssued(
    list_id="tasklist-federation-2025-03",
    month="2025-03",
    title="三月工作责任清单",
    issuer_department="federation",
    issued_on=date(2025, 3, 1),
)
TASK_ISSUED = TaskIssued(
    task_id="t1",
    list_id="tasklist-federation-2025-03",
    month="2025-03",
    issuer_department="federation",
    title="Home visits in 锦江镇",
    description="Visit every registered person",
    responsible_department="civil_affairs",
    org_unit_code="511403110000",
    assignee="wang",
    metric="persons visited",
    unit="人",
    target_value=100,
    complete_when_target_reached=True,
    issued_on=date(2025, 3, 1),
    deadline=date(2025, 3, 31),
)
MANUAL = TASK_ISSUED.model_copy(update={"complete_when_target_reached": False})
COMPLETED = TaskCompleted(
    task_id="t1",
    month="2025-03",
    responsible_department="civil_affairs",
    completed_on=date(2025, 3, 5),
    how="reported",
    deadline=date(2025, 3, 31),
    on_time=True,
)
CANCELLED = TaskCancelled(
    task_id="t1",
    month="2025-03",
    responsible_department="civil_affairs",
    reason="merged into t2",
    cancelled_on=date(2025, 3, 5),
)


def tasklist() -> t.TaskList:
    state = fold(t.evolve_list, [LIST_ISSUED])
    assert state is not None
    return state


def given(*events: EventPayload) -> t.Task:
    state = fold(t.evolve, events)
    assert state is not None
    return state


def issue(task: t.Task | None = None, **changes: Any) -> list[EventPayload]:
    args: dict[str, Any] = dict(
        task_id="t1",
        title="Home visits",
        description="Visit everyone",
        responsible_department="civil_affairs",
        org_unit_code="511403110000",
        assignee="wang",
        metric="persons visited",
        unit="人",
        target_value=100,
        complete_when_target_reached=True,
        issued_on=date(2025, 3, 1),
        deadline=date(2025, 3, 31),
        known_departments=DEPARTMENTS,
        today=TODAY,
    )
    args.update(changes)
    return t.issue_task(task, tasklist(), **args)


def open_list(tasklist: t.TaskList | None = None, **changes: Any) -> list[EventPayload]:
    args: dict[str, Any] = dict(
        issuer_department="federation",
        month="2025-03",
        title="三月工作责任清单",
        issued_on=TODAY,
        today=TODAY,
    )
    args.update(changes)
    return t.issue_list(tasklist, **args)


def report(task: t.Task, **changes: Any) -> list[EventPayload]:
    args: dict[str, Any] = dict(
        value_reached=40,
        note="first week",
        evidence=["https://e.x/1"],
        reported_on=date(2025, 3, 8),
        today=TODAY,
    )
    args.update(changes)
    return t.report_progress(task, **args)


def refused(
    error: type[QingdanError], command: Callable[[], object], *, field: str | None = None, says: str = ""
) -> QingdanError:
    """The command fails with ``error`` naming ``field``. ``says`` only tells apart the rules of a 409,
    which has no field: a 422 is told by its field alone."""
    with pytest.raises(error) as caught:
        command()
    assert caught.value.field == field
    assert says in caught.value.message
    return caught.value


# --- overdue / due soon ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline", "status", "overdue", "due_soon"),
    [
        pytest.param(date(2025, 3, 9), "open", True, False, id="open-past-deadline"),
        pytest.param(date(2025, 3, 10), "open", False, True, id="open-due-today"),
        pytest.param(date(2025, 3, 17), "open", False, True, id="open-due-in-7-days"),
        pytest.param(date(2025, 3, 18), "open", False, False, id="open-due-in-8-days"),
        pytest.param(date(2025, 3, 1), "completed", False, False, id="completed-past-deadline"),
        pytest.param(date(2025, 3, 1), "cancelled", False, False, id="cancelled-past-deadline"),
        pytest.param(date(2025, 3, 12), "completed", False, False, id="completed-due-soon"),
    ],
)
def test_overdue_and_due_soon_follow_the_clock(
    deadline: date, status: Any, overdue: bool, due_soon: bool
) -> None:
    assert t.is_overdue(deadline, status, TODAY) is overdue
    assert t.is_due_soon(deadline, status, TODAY) is due_soon


# --- the month's list -----------------------------------------------------------------------------


def test_issue_list_opens_the_month() -> None:
    events = open_list(title=" 三月工作责任清单 ", issued_on=date(2025, 3, 1))
    assert events == [LIST_ISSUED]
    assert fold(t.evolve_list, events) == tasklist()


def test_issue_list_twice_is_refused() -> None:
    refused(DomainRuleViolated, lambda: open_list(tasklist(), title="again"), says="already issued")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"month": "2025-13"}, "month", id="month-13"),
        pytest.param({"month": "2025-3"}, "month", id="month-one-digit"),
        pytest.param({"month": "March"}, "month", id="month-name"),
        pytest.param({"month": "2025-00"}, "month", id="month-zero"),
        pytest.param({"issued_on": date(2025, 3, 11)}, "issued_on", id="future"),
        pytest.param({"title": " "}, "title", id="untitled"),
        pytest.param({"issuer_department": ""}, "issuer_department", id="no-issuer"),
    ],
)
def test_issue_list_with_bad_input_is_refused(changes: dict[str, Any], field: str) -> None:
    refused(InvalidInput, lambda: open_list(**changes), field=field)


def test_a_tasklist_stream_holds_only_its_issue() -> None:
    with pytest.raises(TypeError):
        t.evolve_list(None, TASK_ISSUED)


# --- issuing a task -------------------------------------------------------------------------------


def test_issue_task_takes_month_and_issuer_from_the_list() -> None:
    [event] = issue(
        title=" Home visits in 锦江镇 ", description="Visit every registered person", assignee="  wang "
    )
    assert event == TASK_ISSUED
    state = given(event)
    assert (state.status, state.issuer_department, state.deadline, state.value_reached) == (
        "open",
        "federation",
        date(2025, 3, 31),
        0.0,
    )


def test_issue_task_with_deadline_on_the_issue_date_and_no_org_unit_or_assignee() -> None:
    [event] = issue(deadline=date(2025, 3, 1), org_unit_code=None, assignee=" ")
    assert isinstance(event, TaskIssued)
    assert (event.deadline, event.org_unit_code, event.assignee) == (date(2025, 3, 1), None, None)


def test_issue_an_existing_task_is_refused() -> None:
    refused(DomainRuleViolated, lambda: issue(task=given(TASK_ISSUED), title="again"), says="already exists")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param(
            {"deadline": date(2025, 2, 28)}, "deadline", id="deadline-early"
        ),
        pytest.param(
            {"issued_on": date(2025, 2, 27), "deadline": date(2025, 3, 31)},
            "issued_on",
            id="before-list",
        ),
        pytest.param({"issued_on": date(2025, 3, 11)}, "issued_on", id="future"),
        pytest.param({"responsible_department": "police"}, "responsible_department", id="dept"),
        pytest.param({"org_unit_code": "5114031100"}, "org_unit_code", id="org-unit-short"),
        pytest.param({"org_unit_code": "51140311000X"}, "org_unit_code", id="org-unit-letter"),
        pytest.param({"target_value": 0}, "target_value", id="target-zero"),
        pytest.param({"target_value": -5}, "target_value", id="target-negative"),
        pytest.param({"target_value": math.nan}, "target_value", id="target-nan"),
        pytest.param({"title": "  "}, "title", id="title-blank"),
        pytest.param({"title": "x" * 201}, "title", id="title-long"),
        pytest.param({"description": ""}, "description", id="description-blank"),
        pytest.param({"metric": ""}, "metric", id="metric-blank"),
        pytest.param({"unit": " "}, "unit", id="unit-blank"),
    ],
)
def test_issue_task_with_bad_input_is_refused(changes: dict[str, Any], field: str) -> None:
    refused(InvalidInput, lambda: issue(**changes), field=field)


# --- progress and completion ----------------------------------------------------------------------


def test_progress_below_target_is_only_progress() -> None:
    events = report(given(TASK_ISSUED), evidence=[" https://e.x/1 ", "https://e.x/1", "https://e.x/2"])
    assert events == [
        TaskProgressReported(
            task_id="t1",
            month="2025-03",
            responsible_department="civil_affairs",
            value_reached=40,
            target_value=100,
            note="first week",
            evidence=["https://e.x/1", "https://e.x/2"],
            reported_on=date(2025, 3, 8),
        )
    ]
    state = given(TASK_ISSUED, *events)
    assert (state.status, state.value_reached, state.last_reported_on) == ("open", 40, date(2025, 3, 8))


def test_progress_reaching_the_target_completes_a_task_that_says_so() -> None:
    progress, completed = report(given(TASK_ISSUED), value_reached=100)
    assert isinstance(progress, TaskProgressReported)
    assert completed == TaskCompleted(
        task_id="t1",
        month="2025-03",
        responsible_department="civil_affairs",
        completed_on=date(2025, 3, 8),
        how="target_reached",
        deadline=date(2025, 3, 31),
        on_time=True,
    )
    state = given(TASK_ISSUED, progress, completed)
    assert (state.status, state.completed_how) == ("completed", "target_reached")


def test_progress_beyond_the_target_of_a_manual_task_does_not_complete_it() -> None:
    [event] = report(given(MANUAL), value_reached=120)
    assert isinstance(event, TaskProgressReported)
    assert given(MANUAL, event).status == "open"


def test_progress_reported_complete_completes_the_task() -> None:
    _, completed = report(given(MANUAL), value_reached=80, complete=True)
    assert isinstance(completed, TaskCompleted)
    assert completed.how == "reported"


def test_late_completion_is_not_on_time() -> None:
    state = given(TASK_ISSUED)
    [event] = t.complete(state, completed_on=date(2025, 4, 2), today=date(2025, 4, 3))
    assert isinstance(event, TaskCompleted)
    assert (event.on_time, event.deadline, event.how) == (False, date(2025, 3, 31), "reported")


def test_complete_an_open_task() -> None:
    [event] = t.complete(given(TASK_ISSUED), completed_on=date(2025, 3, 5), today=TODAY)
    assert event == COMPLETED
    assert given(TASK_ISSUED, event).completed_on == date(2025, 3, 5)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"value_reached": -1}, "value_reached", id="negative"),
        pytest.param({"value_reached": math.inf}, "value_reached", id="infinite"),
        pytest.param({"reported_on": date(2025, 3, 11)}, "reported_on", id="future"),
        pytest.param({"reported_on": date(2025, 2, 28)}, "reported_on", id="before-issue"),
        pytest.param({"evidence": ["  "]}, "evidence", id="blank-link"),
        pytest.param({"evidence": ["a b"]}, "evidence", id="spaced-link"),
        pytest.param({"evidence": ["x" * 501]}, "evidence", id="long-link"),
        pytest.param({"evidence": [f"https://e.x/{i}" for i in range(21)]}, "evidence", id="many"),
    ],
)
def test_progress_with_bad_input_is_refused(changes: dict[str, Any], field: str) -> None:
    refused(InvalidInput, lambda: report(given(TASK_ISSUED), **changes), field=field)


def test_complete_with_a_bad_date_is_refused() -> None:
    refused(
        InvalidInput,
        lambda: t.complete(given(TASK_ISSUED), completed_on=date(2025, 3, 11), today=TODAY),
        field="completed_on",
    )
    refused(
        InvalidInput,
        lambda: t.complete(given(TASK_ISSUED), completed_on=date(2025, 2, 1), today=TODAY),
        field="completed_on",
    )


# --- deadline extension and cancellation ----------------------------------------------------------


def test_extend_deadline_with_a_reason_to_a_later_date() -> None:
    [event] = t.extend_deadline(
        given(TASK_ISSUED), new_deadline=date(2025, 4, 15), reason=" flood ", today=TODAY
    )
    assert event == TaskDeadlineExtended(
        task_id="t1",
        month="2025-03",
        responsible_department="civil_affairs",
        previous_deadline=date(2025, 3, 31),
        new_deadline=date(2025, 4, 15),
        reason="flood",
        extended_on=TODAY,
    )
    state = given(TASK_ISSUED, event)
    assert state.deadline == date(2025, 4, 15)
    assert state.extensions == ((date(2025, 4, 15), "flood"),)
    [completed] = t.complete(state, completed_on=date(2025, 4, 10), today=date(2025, 4, 10))
    assert isinstance(completed, TaskCompleted)
    assert (completed.deadline, completed.on_time) == (date(2025, 4, 15), True)


def test_an_overdue_task_can_be_extended_to_a_future_date() -> None:
    [event] = t.extend_deadline(
        given(TASK_ISSUED), new_deadline=date(2025, 4, 20), reason="late data", today=date(2025, 4, 5)
    )
    assert isinstance(event, TaskDeadlineExtended)


@pytest.mark.parametrize(
    ("new_deadline", "reason", "today", "field"),
    [
        pytest.param(date(2025, 4, 15), "  ", TODAY, "reason", id="no-reason"),
        pytest.param(date(2025, 3, 31), "flood", TODAY, "new_deadline", id="same-date"),
        pytest.param(date(2025, 3, 20), "flood", TODAY, "new_deadline", id="earlier"),
        pytest.param(
            date(2025, 4, 2), "flood", date(2025, 4, 5), "new_deadline", id="past"
        ),
    ],
)
def test_bad_extensions_are_refused(
    new_deadline: date, reason: str, today: date, field: str
) -> None:
    refused(
        InvalidInput,
        lambda: t.extend_deadline(given(TASK_ISSUED), new_deadline=new_deadline, reason=reason, today=today),
        field=field,
    )


def test_cancel_with_a_reason() -> None:
    [event] = t.cancel(given(TASK_ISSUED), reason=" merged into t2 ", today=date(2025, 3, 5))
    assert event == CANCELLED
    state = given(TASK_ISSUED, event)
    assert (state.status, state.cancel_reason) == ("cancelled", "merged into t2")
    assert not t.is_overdue(state.deadline, state.status, date(2025, 5, 1))


def test_cancel_without_a_reason_is_refused() -> None:
    refused(InvalidInput, lambda: t.cancel(given(TASK_ISSUED), reason="", today=TODAY), field="reason")


# --- nothing moves a finished task ----------------------------------------------------------------

COMMANDS: dict[str, Callable[[t.Task], object]] = {
    "progress": lambda task: report(task),
    "complete": lambda task: t.complete(task, completed_on=TODAY, today=TODAY),
    "extend": lambda task: t.extend_deadline(task, new_deadline=date(2025, 4, 30), reason="r", today=TODAY),
    "cancel": lambda task: t.cancel(task, reason="r", today=TODAY),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("final", "says"),
    [(COMPLETED, "already completed on 2025-03-05"), (CANCELLED, "was cancelled (merged into t2)")],
)
def test_no_transition_after_completion_or_cancellation(command: str, final: EventPayload, says: str) -> None:
    refused(DomainRuleViolated, lambda: COMMANDS[command](given(TASK_ISSUED, final)), says=says)


def test_completing_twice_via_the_target_is_refused() -> None:
    state = given(TASK_ISSUED, *report(given(TASK_ISSUED), value_reached=100))
    refused(DomainRuleViolated, lambda: report(state, value_reached=110), says="already completed")


def test_a_task_stream_refuses_foreign_events() -> None:
    with pytest.raises(TypeError):
        given(TASK_ISSUED, HighlightApproved(highlight_id="h", department="d", approved_on=TODAY))
