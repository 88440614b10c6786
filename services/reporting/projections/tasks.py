"""Responsibility-checklist tasks (工作责任清单) read model: one row per task, from the checklists events.

A task's events come from two instances (the issuer's and the responsible department's, see
docs/checklists.md); each event sets only its own columns, and the status is derived when queried
(completed if ``completed_on``, else cancelled if ``cancelled_on``, else open), so the row is the
same whichever order the two instances' events were published in. Overdue and due soon are not
stored at all: they depend on the day asked about (``queries/tasks.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Boolean, Column, Date, Float, Index, MetaData, String, Table, Text, false

from shared.catalogue import EventPayload
from shared.catalogue import worklists as ev
from shared.envelope import Envelope
from shared.projection import Operation, Patch, Projection, Upsert

metadata = MetaData()

rpt_tasks = Table(
    "rpt_tasks", metadata,
    Column("task_id", String(36), primary_key=True),
    Column("list_id", String(120), nullable=False),
    Column("month", String(7), nullable=False),
    Column("issuer_department", String(50), nullable=False),
    Column("title", String(200), nullable=False),
    Column("responsible_department", String(50), nullable=False),
    Column("org_unit_code", String(12)),
    Column("assignee", String(200)),
    Column("metric", String(100), nullable=False),
    Column("unit", String(20), nullable=False),
    Column("target_value", Float, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("value_reached", Float, nullable=False, default=0.0, server_default="0"),
    Column("last_reported_on", Date),
    Column("completed_on", Date),
    Column("completed_how", String(20)),
    Column("on_time", Boolean),
    Column("cancelled_on", Date),
    Column("cancel_reason", Text),
    Column("extended", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_rpt_tasks_month_department", "month", "responsible_department"),
    Index("ix_rpt_tasks_deadline", "deadline"),
)


def changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """The task row an event changes."""
    match event:
        case ev.TaskIssued():
            return [Upsert(rpt_tasks, {"task_id": event.task_id}, {
                "list_id": event.list_id, "month": event.month, "issuer_department": event.issuer_department,
                "title": event.title, "responsible_department": event.responsible_department,
                "org_unit_code": event.org_unit_code, "assignee": event.assignee, "metric": event.metric,
                "unit": event.unit, "target_value": event.target_value, "issued_on": event.issued_on,
                "deadline": event.deadline})]
        case ev.TaskProgressReported():
            return [Patch(rpt_tasks, {"task_id": event.task_id},
                          {"value_reached": event.value_reached, "last_reported_on": event.reported_on})]
        case ev.TaskCompleted():
            return [Patch(rpt_tasks, {"task_id": event.task_id},
                          {"completed_on": event.completed_on, "completed_how": event.how, "on_time": event.on_time})]
        case ev.TaskDeadlineExtended():
            return [Patch(rpt_tasks, {"task_id": event.task_id}, {"deadline": event.new_deadline, "extended": True})]
        case ev.TaskCancelled():
            return [Patch(rpt_tasks, {"task_id": event.task_id},
                          {"cancelled_on": event.cancelled_on, "cancel_reason": event.reason})]
    return []


TASKS = Projection(
    name="tasks",
    source_service="checklists",
    tables=(rpt_tasks,),
    reads=(ev.TaskIssued, ev.TaskProgressReported, ev.TaskCompleted, ev.TaskDeadlineExtended, ev.TaskCancelled),
    changes=changes,
)
