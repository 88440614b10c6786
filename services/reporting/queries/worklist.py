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
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from sqlalchemy import bindparam, case, func, select
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


# The statements are built once, the day and the filter's values as parameters: building them anew
# for every request cost about as much CPU as running them. Each reads only the columns a row shows.
_t = rpt_tasks.c
_TASKS = select(_t.task_id, _t.month, _t.title, _t.responsible_department, _t.org_unit_code, _t.assignee,
                _t.deadline, _t.value_reached, _t.target_value).where(
    _t.completed_on.is_(None), _t.cancelled_on.is_(None), _t.deadline <= bindparam("horizon"))
_e = ledger_entries.c
_RECTIFICATIONS = select(_e.rectification_id, _e.number, _e.problem, _e.responsible_unit, _e.township_code,
                         _e.deadline, _e.status).where(_e.status.in_(AWAITING_UNIT),
                                                       _e.deadline <= bindparam("horizon"))
_month, _day = pi_due_month_counts.c, pi_due_counts.c
_PLAN_ITEM_COUNTS = (
    select(_month.responsible_department, _month.township_code, func.max(_month.due_month), func.sum(_month.planned))
    .where(_month.due_month < bindparam("month")).group_by(_month.responsible_department, _month.township_code),
    select(_day.responsible_department, _day.township_code, func.max(_day.due_on), func.sum(_day.planned))
    .where(_day.due_on >= bindparam("month"), _day.due_on <= bindparam("horizon"))
    .group_by(_day.responsible_department, _day.township_code, case((_day.due_on < bindparam("today"), 1), else_=0)))
_LEDGER_NAMES = select(ledger_names.c.code, ledger_names.c.name)
_PLAN_NAMES = select(pi_names.c.code, pi_names.c.name)


async def _tasks(conn: AsyncConnection, horizon: date) -> list[dict[str, Any]]:
    return [{"kind": "task", "id": task_id, "ref": month, "title": title, "department": department,
             "township_code": township_of(org_unit), "assignee": assignee, "deadline": deadline, "status": "open",
             "person_id": None, "progress": round(min(reached / target, 1.0), 4) if target else None}
            for task_id, month, title, department, org_unit, assignee, deadline, reached, target
            in await conn.execute(_TASKS, {"horizon": horizon})]


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
    groups: dict[tuple[str, str, bool], _Counted] = {}
    for query in _PLAN_ITEM_COUNTS:
        values = {"month": month_of(today), "horizon": horizon, "today": today}
        for department, township, due_on, planned in await conn.execute(query, values):
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
    query = _plan_item_statement(f.window, f.department is not None, f.township is not None)
    values = {"horizon": horizon, "today": today, "first": first, "department": f.department,
              "township": f.township}
    return [_plan_item_row(r) for r in await conn.execute(query, values)]


@lru_cache(maxsize=16)
def _plan_item_statement(window: str, department: bool, township: bool) -> Any:
    """The plan items' page for a filter of this shape (its values as parameters)."""
    i = pi_items.c
    query = (select(i.item_id, i.need, i.description, i.responsible_department, i.due_on, i.person_id,
                    pi_persons.c.township_code)
             .select_from(pi_items.join(pi_persons, pi_persons.c.person_id == i.person_id))
             .where(i.status == "planned", i.due_on <= bindparam("horizon"), pi_persons.c.active)
             .order_by(i.due_on, i.item_id).limit(bindparam("first")))
    if window == "overdue":
        query = query.where(i.due_on < bindparam("today"))
    elif window == "due_soon":
        query = query.where(i.due_on >= bindparam("today"))
    if department:
        query = query.where(i.responsible_department == bindparam("department"))
    if township:
        query = query.where(pi_persons.c.township_code == bindparam("township"))
    return query


async def _rectifications(conn: AsyncConnection, horizon: date) -> list[dict[str, Any]]:
    return [{"kind": "rectification", "id": rectification_id, "ref": number or "", "title": problem,
             "department": unit, "township_code": township, "assignee": None, "deadline": deadline,
             "status": status, "person_id": None, "progress": None}
            for rectification_id, number, problem, unit, township, deadline, status
            in await conn.execute(_RECTIFICATIONS, {"horizon": horizon})]


async def _names(conn: AsyncConnection) -> dict[str, str]:
    names = {code: name for code, name in await conn.execute(_LEDGER_NAMES)}
    names.update({code: name for code, name in await conn.execute(_PLAN_NAMES)})
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
