"""Overdue and due soon (逾期): tasks, plan items and rectifications in one work list, as of a day.

Each kind keeps its own rule for "still to do": a task neither completed nor cancelled; a plan item
still planned, of a person still registered; a rectification the responsible unit still has to act
on (assigned, or reopened after a re-check). Overdue means the deadline day has passed; due soon
means the deadline is today or within the next seven days. Rows say how many days overdue.

Plan items grow with the register: they are counted from the plan-item counters
(``pi_due_month_counts`` for past months, ``pi_due_counts`` for this month's days) and only the
page's first ``offset + limit`` are read, in the order of an index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, NamedTuple

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.plan_items import (
    month_of,
    pi_due_counts,
    pi_due_month_counts,
    pi_items,
    pi_names,
    pi_persons,
)
from services.reporting.projections.rectifications import ledger_entries, ledger_names
from services.reporting.projections.tasks import rpt_tasks
from services.reporting.queries.rectifications import AWAITING_UNIT
from shared.deadlines import DUE_SOON_DAYS, due_soon_until

Kind = Literal["task", "plan_item", "rectification"]
Window = Literal["overdue", "due_soon", "both"]


@dataclass(frozen=True)
class WorkFilter:
    """Which rows to show; ``None`` means any."""

    kind: str | None = None
    department: str | None = None
    township: str | None = None
    assignee: str | None = None
    window: str = "both"


def township_of(code: str | None) -> str | None:
    """The township a 12-digit org-unit code lies in (None for the district or no code)."""
    if not code or len(code) != 12 or code[6:9] == "000":
        return None
    return code[:9] + "000"


async def _tasks(conn: AsyncConnection, horizon: date) -> list[dict[str, Any]]:
    t = rpt_tasks.c
    # only the columns the list shows: a task row also carries its list, issuer, metric and reports
    query = select(t.task_id, t.month, t.title, t.responsible_department, t.org_unit_code, t.assignee, t.deadline,
                   t.value_reached, t.target_value).where(t.completed_on.is_(None), t.cancelled_on.is_(None),
                                                          t.deadline <= horizon)
    return [{"kind": "task", "id": r.task_id, "ref": r.month, "title": r.title,
             "department": r.responsible_department, "township_code": township_of(r.org_unit_code),
             "assignee": r.assignee, "deadline": r.deadline, "status": "open", "person_id": None,
             "progress": round(min(r.value_reached / r.target_value, 1.0), 4) if r.target_value else None}
            for r in await conn.execute(query)]


def _plan_item_row(r: Any) -> dict[str, Any]:
    return {"kind": "plan_item", "id": r.item_id, "ref": r.need, "title": r.description,
            "department": r.responsible_department, "township_code": r.township_code, "assignee": None,
            "deadline": r.due_on, "status": "planned", "person_id": r.person_id, "progress": None}


class _Counted(NamedTuple):
    responsible_department: str
    township_code: str
    due_on: date  # the latest due day counted: says whether the group is overdue on the day asked about
    planned: int


async def _plan_item_counts(conn: AsyncConnection, today: date, horizon: date) -> list[_Counted]:
    """Planned items of active persons per department, township, overdue or not: from the counters.

    Whole months before ``today``'s from ``pi_due_month_counts`` (all overdue), the days from the
    first of this month to ``horizon`` from ``pi_due_counts``: a few hundred rows, however many persons.
    """
    month, day = pi_due_month_counts.c, pi_due_counts.c
    late = case((day.due_on < today, 1), else_=0)
    queries = (
        select(month.responsible_department, month.township_code, func.max(month.due_month), func.sum(month.planned))
        .where(month.due_month < month_of(today)).group_by(month.responsible_department, month.township_code),
        select(day.responsible_department, day.township_code, func.max(day.due_on), func.sum(day.planned))
        .where(day.due_on >= month_of(today), day.due_on <= horizon)
        .group_by(day.responsible_department, day.township_code, late))
    groups: dict[tuple[str, str, bool], _Counted] = {}
    for query in queries:
        for department, township, due_on, planned in await conn.execute(query):
            due_on = due_on if isinstance(due_on, date) else date.fromisoformat(due_on)
            key = (department, township, due_on < today)
            seen = groups.get(key)
            groups[key] = _Counted(department, township, max(due_on, seen.due_on) if seen else due_on,
                                   int(planned) + (seen.planned if seen else 0))
    return [g for g in groups.values() if g.planned > 0]


async def _plan_item_page(conn: AsyncConnection, today: date, horizon: date, f: WorkFilter,
                          first: int) -> list[dict[str, Any]]:
    """The ``first`` plan items ``f`` keeps, by due day then id: an index walk (ix_pi_items_due)."""
    if first <= 0 or f.kind not in (None, "plan_item") or f.assignee is not None:
        return []
    i = pi_items.c
    query = (select(i.item_id, i.need, i.description, i.responsible_department, i.due_on, i.person_id,
                    pi_persons.c.township_code)
             .select_from(pi_items.join(pi_persons, pi_persons.c.person_id == i.person_id))
             .where(i.status == "planned", i.due_on <= horizon, pi_persons.c.active)
             .order_by(i.due_on, i.item_id).limit(first))
    if f.window == "overdue":
        query = query.where(i.due_on < today)
    elif f.window == "due_soon":
        query = query.where(i.due_on >= today)
    if f.department is not None:
        query = query.where(i.responsible_department == f.department)
    if f.township is not None:
        query = query.where(pi_persons.c.township_code == f.township)
    return [_plan_item_row(r) for r in await conn.execute(query)]


async def _rectifications(conn: AsyncConnection, horizon: date) -> list[dict[str, Any]]:
    e = ledger_entries.c
    # not the measures, dates and history fields of the ledger: only what a work-list row shows
    query = select(e.rectification_id, e.number, e.problem, e.responsible_unit, e.township_code, e.deadline,
                   e.status).where(e.status.in_(AWAITING_UNIT), e.deadline <= horizon)
    return [{"kind": "rectification", "id": r.rectification_id, "ref": r.number or "", "title": r.problem,
             "department": r.responsible_unit, "township_code": r.township_code, "assignee": None,
             "deadline": r.deadline, "status": r.status, "person_id": None, "progress": None}
            for r in await conn.execute(query)]


async def _names(conn: AsyncConnection) -> dict[str, str]:
    names = {r.code: r.name for r in await conn.execute(select(ledger_names.c.code, ledger_names.c.name))}
    names.update({r.code: r.name for r in await conn.execute(select(pi_names.c.code, pi_names.c.name))})
    return names


def _describe(row: dict[str, Any], today: date, names: dict[str, str]) -> dict[str, Any]:
    row["days_overdue"] = (today - row["deadline"]).days
    row["deadline"] = row["deadline"].isoformat()
    row["department_name"] = names.get(row["department"], row["department"])
    row["township_name"] = names.get(row["township_code"] or "", row["township_code"])
    return row


def _keep(row: dict[str, Any], f: WorkFilter) -> bool:
    late = row["days_overdue"] > 0
    return ((f.window == "both" or late == (f.window == "overdue"))
            and all(v is None or row[k] == v for k, v in (("kind", f.kind), ("department", f.department),
                                                          ("township_code", f.township),
                                                          ("assignee", f.assignee))))


async def worklist(conn: AsyncConnection, today: date, f: WorkFilter, *, offset: int = 0,
                   limit: int = 50) -> dict[str, Any]:
    """Open tasks, plan items and rectifications overdue or due soon on ``today`` (``shared.deadlines``),
    filtered, paged.

    Most overdue first. ``total``, ``counts`` and ``by_kind`` count every row the filter keeps;
    ``rows`` is the page ``offset`` … ``offset + limit`` of them. ``options`` lists the departments,
    townships and assignees present (before filtering), for the page's filter controls.
    """
    horizon = due_soon_until(today)
    rows = await _tasks(conn, horizon) + await _rectifications(conn, horizon)  # tens of rows, not persons
    names = await _names(conn)
    counted = await _plan_item_counts(conn, today, horizon)
    rows += await _plan_item_page(conn, today, horizon, f, offset + limit)
    for row in rows:
        _describe(row, today, names)
    departments = {(r["department"], r["department_name"]) for r in rows if r["kind"] != "plan_item"}
    townships = {(r["township_code"], r["township_name"]) for r in rows
                 if r["kind"] != "plan_item" and r["township_code"]}
    kept = [r for r in rows if r["kind"] != "plan_item" and _keep(r, f)]
    late = sum(r["days_overdue"] > 0 for r in kept)
    by_kind = {k: sum(r["kind"] == k for r in kept) for k in ("task", "plan_item", "rectification")}
    for group in counted:  # the plan items, counted by department, township and due day
        group_row = _describe({"kind": "plan_item", "department": group.responsible_department,
                               "township_code": group.township_code, "assignee": None,
                               "deadline": group.due_on}, today, names)
        departments.add((group_row["department"], group_row["department_name"]))
        if group.township_code:
            townships.add((group_row["township_code"], group_row["township_name"]))
        if _keep(group_row, f):
            by_kind["plan_item"] += int(group.planned)
            late += int(group.planned) * (group_row["days_overdue"] > 0)
    total = sum(by_kind.values())
    counts = {"overdue": late, "due_soon": total - late}
    options = {"departments": sorted(departments), "townships": sorted(townships),
               "assignees": sorted({r["assignee"] for r in rows if r["assignee"]})}
    page = sorted((r for r in rows if _keep(r, f)), key=lambda r: (-r["days_overdue"], r["kind"], r["id"]))
    return {
        "today": today.isoformat(), "due_soon_days": DUE_SOON_DAYS, "total": total, "counts": counts,
        "by_kind": by_kind, "offset": offset, "limit": limit, "rows": page[offset:offset + limit],
        "options": {"departments": [{"code": c, "name": n} for c, n in options["departments"]],
                    "townships": [{"code": c, "name": n} for c, n in options["townships"]],
                    "assignees": options["assignees"]},
    }
