"""Read side of a checklists instance: its lookup rows as plain data (dates as dates; the routes' response
models serialise them), overdue and due soon against ``today``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.checklists.adapters.tables import (
    departments,
    highlight_reviews,
    highlights,
    publicity,
    task_lists,
    task_work,
    tasks,
)
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.application.lookup_rows import LOOKUP_ROWS
from services.checklists.domain.task import is_due_soon, is_overdue
from shared.catalogue import EventPayload
from shared.catalogue.worklists import TaskDeadlineExtended, TaskProgressReported
from shared.deadlines import due_soon_until
from shared.errors import NotFound
from shared.eventstore import Stream
from shared.eventstore.repository import Change
from shared.eventstore.verify import verify_stream
from shared.projection import Upsert

W = task_work.c
IS_OPEN: ColumnElement[bool] = and_(W.completed_on.is_(None), tasks.c.cancelled_on.is_(None))
task_status = case((W.completed_on.is_not(None), literal("completed")),
                   (tasks.c.cancelled_on.is_not(None), literal("cancelled")), else_=literal("open"))
"""Completion wins over a cancellation that raced it, as in the domain's fold (``domain/ownership.py``)."""
TASK_QUERY = select(
    tasks, func.coalesce(W.value_reached, 0.0).label("value_reached"), W.last_reported_on, W.completed_on,
    W.completed_how, W.on_time, func.coalesce(W.work_version, 0).label("work_version"), task_status.label("status"),
).select_from(tasks.outerjoin(task_work, W.task_id == tasks.c.task_id))


def saved_row(stream: Stream, events: Sequence[EventPayload] = (), version: int | None = None) -> dict[str, Any]:
    """The lookup row of ``stream`` once ``events`` are appended at ``version``, computed in memory by the
    same inline projection the repository writes (``lookup_rows``): a command's response is built
    from it rather than read back, so commands may run buffered. Empty for a stream with no events."""
    if not stream.version and not events:
        return {}
    change = Change(stream.stream_id, stream, events, stream.version if version is None else version)
    row: dict[str, Any] = {}
    for operation in LOOKUP_ROWS.changes(change):
        assert isinstance(operation, Upsert), "a checklists lookup row is written whole"
        row.update(operation.key, **operation.values)
    return row


TASK_WORK_DEFAULTS = {"value_reached": 0.0, "last_reported_on": None, "completed_on": None, "completed_how": None,
                      "on_time": None, "work_version": 0}
"""A task's work columns before its department has reported anything (``TASK_QUERY``'s outer join)."""


def task_rows_json(issue: dict[str, Any], work: dict[str, Any], today: date) -> dict[str, Any]:
    """A task's JSON from its two lookup rows (``saved_row``), exactly as ``TASK_QUERY`` joins them."""
    row = {**issue, **TASK_WORK_DEFAULTS, **work}
    row["status"] = ("completed" if row["completed_on"] is not None
                     else "cancelled" if row["cancelled_on"] is not None else "open")
    return task_row_json(SimpleNamespace(**row), today)


def task_row_json(row: Any, today: date) -> dict[str, Any]:
    """A task's lookup row, with the clock-derived ``overdue`` and ``due_soon``."""
    return {
        "task_id": row.task_id, "list_id": row.list_id, "month": row.month,
        "issuer_department": row.issuer_department, "title": row.title, "description": row.description,
        "responsible_department": row.responsible_department, "org_unit_code": row.org_unit_code,
        "assignee": row.assignee, "metric": row.metric, "unit": row.unit, "target_value": row.target_value,
        "complete_when_target_reached": row.complete_when_target_reached,
        "issued_on": row.issued_on, "deadline": row.deadline, "status": row.status,
        "value_reached": row.value_reached, "progress": round(min(row.value_reached / row.target_value, 1.0), 4),
        "last_reported_on": row.last_reported_on, "completed_on": row.completed_on,
        "completed_how": row.completed_how, "on_time": row.on_time, "cancelled_on": row.cancelled_on,
        "cancel_reason": row.cancel_reason,
        "extensions": row.extensions,
        "overdue": is_overdue(row.deadline, row.status, today),
        "due_soon": is_due_soon(row.deadline, row.status, today),
        "issue_version": row.issue_version, "work_version": row.work_version,
    }


async def task_json(conn: AsyncConnection, task_id: str, today: date) -> dict[str, Any]:
    """One task's row as JSON; 404 if this instance does not know it."""
    row = (await conn.execute(TASK_QUERY.where(tasks.c.task_id == task_id))).first()
    if row is None:
        raise NotFound(f"no task {task_id} here")
    return task_row_json(row, today)


async def task_detail(conn: AsyncConnection, deps: ChecklistsDeps, task_id: str, today: date) -> dict[str, Any]:
    """One task with its progress reports and deadline extensions, from its two streams."""
    body = await task_json(conn, task_id, today)
    halves = await deps.repository.task(conn, task_id)
    body["reports"] = [
        {"value_reached": e.payload.value_reached, "note": e.payload.note, "evidence": e.payload.evidence,
         "reported_on": e.payload.reported_on, "reported_by": e.envelope.actor}
        for e in halves.work.events if isinstance(e.payload, TaskProgressReported)
    ]
    body["deadline_extensions"] = [
        {"previous_deadline": e.payload.previous_deadline, "new_deadline": e.payload.new_deadline,
         "reason": e.payload.reason, "extended_on": e.payload.extended_on, "extended_by": e.envelope.actor}
        for e in halves.issue.events if isinstance(e.payload, TaskDeadlineExtended)
    ]
    body["streams"] = {halves.issue.stream_id: halves.issue.version, halves.work.stream_id: halves.work.version}
    return body


def _stream_history(stream: Stream, own_department: str) -> dict[str, Any]:
    envelopes = [e.envelope for e in stream.events]
    problems = verify_stream(envelopes)
    return {"stream_id": stream.stream_id, "version": stream.version,
            "written_by": envelopes[0].department if envelopes else None,
            "copy": bool(envelopes) and envelopes[0].department != own_department,
            "chain_intact": not problems, "problems": problems,
            "events": envelopes}


async def task_history(conn: AsyncConnection, deps: ChecklistsDeps, task_id: str) -> dict[str, Any]:
    """A task's full history: both halves, each verified against its hash chain (``copy``: another
    instance writes it, and this is the copy received over NATS)."""
    halves = await deps.repository.task(conn, task_id)
    return {"task_id": task_id, "streams": [_stream_history(halves.issue, deps.department),
                                            _stream_history(halves.work, deps.department)]}


@dataclass(frozen=True)
class TaskFilter:
    """What a task list may be narrowed to."""

    month: str | None = None
    department: str | None = None
    status: str | None = None
    assignee: str | None = None
    overdue: bool | None = None
    due_soon: bool | None = None


def _filtered(query: Select[Any], f: TaskFilter, today: date) -> Select[Any]:
    conditions = []
    if f.month:
        conditions.append(tasks.c.month == f.month)
    if f.department:
        conditions.append(tasks.c.responsible_department == f.department)
    if f.status:
        conditions.append(task_status == f.status)
    if f.assignee:
        conditions.append(tasks.c.assignee == f.assignee)
    overdue = and_(IS_OPEN, tasks.c.deadline < today)
    soon = and_(IS_OPEN, tasks.c.deadline.between(today, due_soon_until(today)))  # domain's is_due_soon
    if f.overdue is not None:
        conditions.append(overdue if f.overdue else ~overdue)
    if f.due_soon is not None:
        conditions.append(soon if f.due_soon else ~soon)
    return query.where(and_(*conditions)) if conditions else query


async def list_tasks(
    conn: AsyncConnection, f: TaskFilter, today: date, *, limit: int = 500, offset: int = 0
) -> list[dict[str, Any]]:
    """Tasks known here, by deadline, filtered."""
    query = _filtered(TASK_QUERY, f, today).order_by(tasks.c.deadline, tasks.c.task_id)
    rows = await conn.execute(query.limit(limit).offset(offset))
    return [task_row_json(r, today) for r in rows]


async def list_task_lists(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every monthly list known here, newest first."""
    rows = await conn.execute(select(task_lists).order_by(task_lists.c.month.desc()))
    return [dict(r._mapping) for r in rows]


async def get_task_list(conn: AsyncConnection, month: str, today: date) -> dict[str, Any]:
    """A month's list with the tasks of it known here."""
    row = (await conn.execute(select(task_lists).where(task_lists.c.month == month))).first()
    if row is None:
        raise NotFound(f"no task list for {month} here")
    return {**dict(row._mapping), "tasks": await list_tasks(conn, TaskFilter(month=month), today)}


R = highlight_reviews.c
HIGHLIGHT_QUERY = select(
    highlights, func.coalesce(R.status, "submitted").label("status"), R.reject_reason, R.approved_on, R.featured_on,
    func.coalesce(R.review_version, 0).label("review_version"),
).select_from(highlights.outerjoin(highlight_reviews, R.highlight_id == highlights.c.highlight_id))


HIGHLIGHT_REVIEW_DEFAULTS = {"status": "submitted", "reject_reason": None, "approved_on": None, "featured_on": None,
                             "review_version": 0}
"""A highlight's review columns before the federation has reviewed it (``HIGHLIGHT_QUERY``'s outer join)."""


def highlight_rows_json(submission: dict[str, Any], review: dict[str, Any]) -> dict[str, Any]:
    """A highlight's JSON from its two lookup rows (``saved_row``), as ``HIGHLIGHT_QUERY`` joins them."""
    return highlight_row_json(SimpleNamespace(**{**submission, **HIGHLIGHT_REVIEW_DEFAULTS, **review}))


def highlight_row_json(row: Any) -> dict[str, Any]:
    """A highlight's lookup row as JSON."""
    return {
        "highlight_id": row.highlight_id, "department": row.department, "title": row.title,
        "description": row.description, "tags": json.loads(row.tags), "evidence": json.loads(row.evidence),
        "submitted_on": row.submitted_on, "status": row.status, "reject_reason": row.reject_reason,
        "approved_on": row.approved_on, "featured_on": row.featured_on,
        "submission_version": row.submission_version, "review_version": row.review_version,
    }


async def highlight_json(conn: AsyncConnection, highlight_id: str) -> dict[str, Any]:
    """One highlight; 404 if unknown here."""
    row = (await conn.execute(HIGHLIGHT_QUERY.where(highlights.c.highlight_id == highlight_id))).first()
    if row is None:
        raise NotFound(f"no highlight {highlight_id} here")
    return highlight_row_json(row)


async def list_highlights(conn: AsyncConnection, department: str | None, status: str | None) -> list[dict[str, Any]]:
    """Highlights known here, newest first."""
    query = HIGHLIGHT_QUERY.order_by(highlights.c.submitted_on.desc(), highlights.c.highlight_id)
    if department:
        query = query.where(highlights.c.department == department)
    if status:
        query = query.where(func.coalesce(R.status, "submitted") == status)
    return [highlight_row_json(r) for r in await conn.execute(query)]


def publicity_row_json(row: Any) -> dict[str, Any]:
    """A publicity item's row as JSON."""
    return dict(row._mapping)


async def publicity_json(conn: AsyncConnection, item_id: str) -> dict[str, Any]:
    """One publicity item; 404 if unknown here."""
    row = (await conn.execute(select(publicity).where(publicity.c.item_id == item_id))).first()
    if row is None:
        raise NotFound(f"no publicity item {item_id} here")
    return publicity_row_json(row)


async def list_publicity(conn: AsyncConnection, department: str | None) -> list[dict[str, Any]]:
    """Publicity items written here, newest first."""
    query = select(publicity).order_by(publicity.c.published_on.desc(), publicity.c.item_id)
    if department:
        query = query.where(publicity.c.department == department)
    return [publicity_row_json(r) for r in await conn.execute(query)]


async def list_departments(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Departments learned from the registry's events."""
    return [dict(r._mapping) for r in await conn.execute(select(departments).order_by(departments.c.code))]
