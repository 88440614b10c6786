"""Tasks, their summary and the department scoreboard (创先争优), with overdue and due soon computed
against the day asked about, so that they change when the clock passes a deadline, not only when
an event arrives. The highlights wall with its publicity."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, String, and_, bindparam, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.highlights import rpt_highlights, rpt_publicity
from services.reporting.projections.tasks import rpt_tasks
from shared.deadlines import due_soon_until

T = rpt_tasks.c
task_status = case((T.completed_on.is_not(None), literal("completed")),
              (T.cancelled_on.is_not(None), literal("cancelled")), else_=literal("open"))
"""Completion wins over a cancellation that raced it (see projections/tasks.py)."""


def overdue(today: date) -> ColumnElement[bool]:
    """Deadline passed and not done."""
    return and_(T.completed_on.is_(None), T.cancelled_on.is_(None), T.deadline < today)


def due_soon(today: date) -> ColumnElement[bool]:
    """Open, deadline today or within ``shared.deadlines.DUE_SOON_DAYS`` days."""
    return and_(T.completed_on.is_(None), T.cancelled_on.is_(None), T.deadline.between(today, due_soon_until(today)))


@dataclass(frozen=True)
class TaskFilter:
    """What a task query may be narrowed to (``month`` YYYY-MM or ``year``)."""

    month: str | None = None
    year: int | None = None
    department: str | None = None
    status: str | None = None
    assignee: str | None = None
    overdue: bool | None = None
    due_soon: bool | None = None

    def conditions(self, today: date) -> list[ColumnElement[bool]]:
        """SQL conditions for this filter as of ``today``."""
        found: list[ColumnElement[bool]] = []
        if self.month:
            found.append(T.month == self.month)
        if self.year:
            found.append(T.month.like(f"{self.year:04d}-%"))
        if self.department:
            found.append(T.responsible_department == self.department)
        if self.status:
            found.append(task_status == self.status)
        if self.assignee:
            found.append(T.assignee == self.assignee)
        for wanted, condition in ((self.overdue, overdue(today)), (self.due_soon, due_soon(today))):
            if wanted is not None:
                found.append(condition if wanted else ~condition)
        return found


async def list_tasks(conn: AsyncConnection, f: TaskFilter, today: date, *, limit: int, offset: int) -> dict[str, Any]:
    """Matching tasks by deadline, each with its status, progress, overdue and due soon as of ``today``."""
    conditions = f.conditions(today)
    query = (select(rpt_tasks, task_status.label("status"), overdue(today).label("overdue"),
                    due_soon(today).label("due_soon"))
             .where(and_(True, *conditions)).order_by(T.deadline, T.task_id).limit(limit).offset(offset))
    total = (await conn.execute(select(func.count()).select_from(rpt_tasks).where(and_(True, *conditions))))
    tasks = [{
        "task_id": r.task_id, "list_id": r.list_id, "month": r.month, "issuer_department": r.issuer_department,
        "title": r.title, "responsible_department": r.responsible_department, "org_unit_code": r.org_unit_code,
        "assignee": r.assignee, "metric": r.metric, "unit": r.unit, "target_value": r.target_value,
        "value_reached": r.value_reached, "progress": round(min(r.value_reached / r.target_value, 1.0), 4),
        "issued_on": r.issued_on, "deadline": r.deadline, "extended": r.extended,
        "status": r.status, "overdue": bool(r.overdue), "due_soon": bool(r.due_soon),
        "last_reported_on": r.last_reported_on, "completed_on": r.completed_on,
        "on_time": r.on_time, "cancel_reason": r.cancel_reason,
    } for r in await conn.execute(query)]
    return {"today": today, "count": int(total.scalar_one()), "tasks": tasks}


@dataclass
class Tally:
    """Counts of one group of tasks, and the rates the honours are judged on."""

    tasks: int = 0
    open: int = 0
    completed_on_time: int = 0
    completed_late: int = 0
    overdue: int = 0
    due_soon: int = 0
    cancelled: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def completed(self) -> int:
        """Completed, on time or late."""
        return self.completed_on_time + self.completed_late

    def add(self, other: Tally) -> None:
        """Accumulate another group's counts (every count is a sum, so they add up)."""
        self.tasks += other.tasks
        self.open += other.open
        self.completed_on_time += other.completed_on_time
        self.completed_late += other.completed_late
        self.overdue += other.overdue
        self.due_soon += other.due_soon
        self.cancelled += other.cancelled

    def as_json(self) -> dict[str, Any]:
        """Counts and rates; a rate is null when there is nothing to divide by.

        ``completion_rate`` is completed / tasks (cancelled ones do not count); ``on_time_rate`` is
        completed on time / tasks that are due (completed, or past their deadline).
        """
        due = self.completed + self.overdue
        return {
            **self.extra, "tasks": self.tasks, "open": self.open, "completed": self.completed,
            "completed_on_time": self.completed_on_time, "completed_late": self.completed_late,
            "overdue": self.overdue, "due_soon": self.due_soon, "cancelled": self.cancelled,
            "completion_rate": round(self.completed / self.tasks, 4) if self.tasks else None,
            "on_time_rate": round(self.completed_on_time / due, 4) if due else None,
        }


# The tallies' statements are built once per shape of filter and grouping, with the day and the
# filter's values as parameters: building the counts' CASE expressions (and their cache key) anew for
# every request cost more CPU than running the query (the scoreboards and the task summary).
_TODAY = bindparam("tally_today", type_=Date)
_SOON_UNTIL = bindparam("tally_due_soon_until", type_=Date)
_FILTER_VALUES = ("month", "year", "department", "status", "assignee")


def _filter_shape(f: TaskFilter) -> tuple[bool | None, ...]:
    """Which of ``f``'s fields narrow the tasks (the values go in as parameters), and how."""
    return (*(bool(getattr(f, n)) for n in _FILTER_VALUES), f.overdue, f.due_soon)


def _filter_values(f: TaskFilter, today: date) -> dict[str, Any]:
    """The parameters of :func:`_tally_statement` for ``f`` on ``today``."""
    return {"tally_today": today, "tally_due_soon_until": due_soon_until(today), "f_month": f.month,
            "f_year": f"{f.year:04d}-%" if f.year else None, "f_department": f.department, "f_status": f.status,
            "f_assignee": f.assignee}


@lru_cache(maxsize=64)
def _tally_statement(shape: tuple[bool | None, ...], group: tuple[Any, ...]) -> Select[Any]:
    """The tallies' statement for a filter of ``shape`` (:func:`_filter_shape`), grouped by ``group``:
    :meth:`TaskFilter.conditions` and the counts, with parameters for the values."""
    month, year, department, status, assignee, late, soon = shape
    found: list[ColumnElement[bool]] = []
    for wanted, condition in ((month, T.month == bindparam("f_month", type_=String)),
                              (year, T.month.like(bindparam("f_year", type_=String))),
                              (department, T.responsible_department == bindparam("f_department", type_=String)),
                              (status, task_status == bindparam("f_status", type_=String)),
                              (assignee, T.assignee == bindparam("f_assignee", type_=String))):
        if wanted:
            found.append(condition)
    overdue_on = and_(T.completed_on.is_(None), T.cancelled_on.is_(None), T.deadline < _TODAY)
    soon_on = and_(T.completed_on.is_(None), T.cancelled_on.is_(None), T.deadline.between(_TODAY, _SOON_UNTIL))
    for wanted_late, condition in ((late, overdue_on), (soon, soon_on)):
        if wanted_late is not None:
            found.append(condition if wanted_late else ~condition)

    def count(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))
    done, cancelled = T.completed_on.is_not(None), and_(T.completed_on.is_(None), T.cancelled_on.is_not(None))
    columns = [
        count(~cancelled).label("tasks"), count(and_(~done, ~cancelled)).label("open"),
        count(and_(done, T.on_time.is_(True))).label("completed_on_time"),
        count(and_(done, T.on_time.is_not(True))).label("completed_late"),
        count(overdue_on).label("overdue"), count(soon_on).label("due_soon"),
        count(cancelled).label("cancelled"),
    ]
    query = select(*group, *columns).where(and_(True, *found))
    if group:
        query = query.group_by(*group).order_by(*group)
    return query


async def tallies(conn: AsyncConnection, f: TaskFilter, today: date, *group: Any) -> list[Tally]:
    """One tally per group (by the given columns) of the matching tasks."""
    query = _tally_statement(_filter_shape(f), group)
    names = ("tasks", "open", "completed_on_time", "completed_late", "overdue", "due_soon", "cancelled")
    result = []
    for row in (await conn.execute(query, _filter_values(f, today))).mappings():
        counts = {n: int(row[n] or 0) for n in names}
        result.append(Tally(**counts, extra={g.key: row[g.key] for g in group}))
    return result


async def summary(conn: AsyncConnection, f: TaskFilter, today: date) -> dict[str, Any]:
    """Totals, and counts by month and department."""
    total = await tallies(conn, f, today)
    rows = await tallies(conn, f, today, T.month, T.responsible_department)
    return {"today": today, "total": (total[0] if total else Tally()).as_json(),
            "by_month_and_department": [t.as_json() for t in rows]}


def rank(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first: on-time rate, then completion rate, then fewest overdue; equal scores share a rank."""
    def key(e: dict[str, Any]) -> tuple[float, float, int]:
        return (-(e["on_time_rate"] or 0.0), -(e["completion_rate"] or 0.0), e["overdue"])
    ordered = sorted(entries, key=lambda e: (key(e), e["department"]))
    for position, entry in enumerate(ordered):
        previous = ordered[position - 1] if position else None
        entry["rank"] = previous["rank"] if previous and key(previous) == key(entry) else position + 1
    return ordered


_BY_DEPARTMENT = T.responsible_department.label("department")  # one object: the statement is built once


async def scoreboard(conn: AsyncConnection, f: TaskFilter, today: date) -> dict[str, Any]:
    """Per department: tasks on time, late, overdue, completion and on-time rates, ranked."""
    rows = await tallies(conn, f, today, _BY_DEPARTMENT)
    return {"today": today, "month": f.month, "year": f.year,
            "departments": rank([t.as_json() for t in rows])}


_STATUS_ORDER = case((rpt_highlights.c.status == "featured", 0), (rpt_highlights.c.status == "approved", 1),
                     (rpt_highlights.c.status == "submitted", 2), else_=3)


async def highlights_wall(conn: AsyncConnection, department: str | None, status: str | None) -> list[dict[str, Any]]:
    """Highlights, featured first, each with the publicity items about it (withdrawn ones left out)."""
    query = select(rpt_highlights).order_by(_STATUS_ORDER, rpt_highlights.c.submitted_on.desc(),
                                            rpt_highlights.c.highlight_id)
    if department:
        query = query.where(rpt_highlights.c.department == department)
    if status:
        query = query.where(rpt_highlights.c.status == status)
    publicity: dict[str, list[dict[str, Any]]] = {}
    for p in await conn.execute(select(rpt_publicity).where(rpt_publicity.c.withdrawn.is_(False),
                                                            rpt_publicity.c.highlight_id.is_not(None))
                                .order_by(rpt_publicity.c.published_on)):
        publicity.setdefault(p.highlight_id, []).append(
            {"item_id": p.item_id, "title": p.title, "channel": p.channel,
             "published_on": p.published_on, "url": p.url})
    return [{
        "highlight_id": h.highlight_id, "department": h.department, "title": h.title,
        "description": h.description, "tags": json.loads(h.tags), "evidence": json.loads(h.evidence),
        "submitted_on": h.submitted_on, "status": h.status, "reject_reason": h.reject_reason,
        "approved_on": h.approved_on, "featured_on": h.featured_on,
        "publicity": publicity.get(h.highlight_id, []),
    } for h in await conn.execute(query)]


async def publicity_list(conn: AsyncConnection, department: str | None) -> list[dict[str, Any]]:
    """Every publicity item listed (withdrawn ones flagged), newest first."""
    query = select(rpt_publicity).order_by(rpt_publicity.c.published_on.desc(), rpt_publicity.c.item_id)
    if department:
        query = query.where(rpt_publicity.c.department == department)
    return [dict(r._mapping) for r in await conn.execute(query)]
