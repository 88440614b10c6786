"""Overdue and due soon (逾期): tasks, plan items and rectifications in one work list, as of a day.

Each kind keeps its own rule for "still to do": a task neither completed nor cancelled; a plan item
still planned, of a person still registered; a rectification the responsible unit still has to act
on (assigned, or reopened after a re-check). Overdue means the deadline day has passed; due soon
means the deadline is today or within the next seven days. Rows say how many days overdue.

Nothing is read row by row for the whole list: plan items grow with the register and are counted
from the plan-item counters (``pi_due_month_counts`` for past months, ``pi_due_counts`` for this
month's days), tasks and rectifications with a ``GROUP BY``; of each kind only the first
``offset + limit`` rows the filter keeps are read, in the page's order, and merged into the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from sqlalchemy import bindparam, case, func, literal_column, null, select, union_all
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
_TASK_OPEN = (_t.completed_on.is_(None), _t.cancelled_on.is_(None), _t.deadline <= bindparam("horizon"))
_e = ledger_entries.c
_RECTIFICATION_OPEN = (_e.status.in_(AWAITING_UNIT), _e.deadline <= bindparam("horizon"))
# Every kind's counts in one statement (a round trip, on SQLite a hand-off to the driver's thread,
# costs more than these few hundred rows): per kind, department, unit, assignee and overdue or not. A
# group's latest deadline says which (grouping by the comparison itself would bind ``today`` twice,
# which PostgreSQL cannot match with the select list). Plan items from the counters: whole months
# before ``today``'s from ``pi_due_month_counts`` (all overdue), this month's days to ``horizon`` from
# ``pi_due_counts``.
_late = {"task": _t.deadline < bindparam("today"), "rectification": _e.deadline < bindparam("today")}
_month, _day = pi_due_month_counts.c, pi_due_counts.c
_COUNTS = union_all(
    select(literal_column("'task'"), _t.responsible_department, _t.org_unit_code, _t.assignee, func.max(_t.deadline),
           func.count())
    .where(*_TASK_OPEN).group_by(_t.responsible_department, _t.org_unit_code, _t.assignee,
                                 case((_late["task"], 1), else_=0)),
    select(literal_column("'rectification'"), _e.responsible_unit, _e.township_code, null(), func.max(_e.deadline),
           func.count())
    .where(*_RECTIFICATION_OPEN).group_by(_e.responsible_unit, _e.township_code,
                                          case((_late["rectification"], 1), else_=0)),
    select(literal_column("'plan_item'"), _month.responsible_department, _month.township_code, null(),
           func.max(_month.due_month), func.sum(_month.planned))
    .where(_month.due_month < bindparam("month")).group_by(_month.responsible_department, _month.township_code),
    select(literal_column("'plan_item'"), _day.responsible_department, _day.township_code, null(),
           func.max(_day.due_on), func.sum(_day.planned))
    .where(_day.due_on >= bindparam("month"), _day.due_on <= bindparam("horizon"))
    .group_by(_day.responsible_department, _day.township_code, case((_day.due_on < bindparam("today"), 1), else_=0)))
_NAMES = union_all(select(ledger_names.c.code, ledger_names.c.name, literal_column("1").label("source")),
                   select(pi_names.c.code, pi_names.c.name, literal_column("2")))


def _as_date(value: Any) -> date:
    """A date from a ``max()`` of dates (SQLite's driver may hand back its text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


class _Counted(NamedTuple):
    """Rows of one kind, department, township and assignee, either all overdue or all not."""

    kind: str
    department: str
    township_code: str | None
    assignee: str | None
    deadline: date  # the latest deadline counted: says whether the group is overdue on the day asked about
    n: int


async def _counts(conn: AsyncConnection, today: date, horizon: date) -> list[_Counted]:
    """Every open task, rectification and plan item due by ``horizon``, counted in groups (``_COUNTS``):
    a few hundred rows, however many persons; a task's township is its unit's."""
    groups: dict[tuple[str, str, str | None, str | None, bool], _Counted] = {}
    for kind, department, unit, assignee, latest, n in await conn.execute(
            _COUNTS, {"month": month_of(today), "horizon": horizon, "today": today}):
        latest = _as_date(latest)
        township = township_of(unit) if kind == "task" else unit
        # a plan item's month and its days are two rows of one group; a task's units, of its township
        key = (kind, department, township, assignee, latest < today) if kind == "plan_item" else \
            (kind, department, unit, assignee, latest < today)
        seen = groups.get(key)
        groups[key] = _Counted(kind, department, township, assignee, max(latest, seen.deadline) if seen else latest,
                               int(n) + (seen.n if seen else 0))
    return [g for g in groups.values() if g.n > 0]


def _window(query: Any, column: Any, window: str) -> Any:
    if window == "overdue":
        return query.where(column < bindparam("today"))
    if window == "due_soon":
        return query.where(column >= bindparam("today"))
    return query


@lru_cache(maxsize=32)
def _task_statement(window: str, department: bool, township: bool, assignee: bool) -> Any:
    """The first open tasks a filter of this shape keeps, by deadline then id (its values as parameters)."""
    query = _window(select(_t.task_id, _t.month, _t.title, _t.responsible_department, _t.org_unit_code,
                           _t.assignee, _t.deadline, _t.value_reached, _t.target_value)
                    .where(*_TASK_OPEN).order_by(_t.deadline, _t.task_id).limit(bindparam("first")),
                    _t.deadline, window)
    if department:
        query = query.where(_t.responsible_department == bindparam("department"))
    if township:  # township_of(org_unit_code) == township, in SQL: a 12-digit code with its first nine digits
        query = query.where(func.length(_t.org_unit_code) == 12,
                            func.substr(_t.org_unit_code, 1, 9) == bindparam("township_prefix"))
    if assignee:
        query = query.where(_t.assignee == bindparam("assignee"))
    return query


def _is_township(code: str) -> bool:
    """Whether ``code`` is what :func:`township_of` can answer (a township's own code)."""
    return township_of(code) == code


async def _task_page(conn: AsyncConnection, horizon: date, today: date, f: WorkFilter,
                     first: int) -> list[dict[str, Any]]:
    if first <= 0 or f.kind not in (None, "task") or (f.township is not None and not _is_township(f.township)):
        return []
    query = _task_statement(f.window, f.department is not None, f.township is not None, f.assignee is not None)
    values = {"horizon": horizon, "today": today, "first": first, "department": f.department,
              "township_prefix": (f.township or "")[:9], "assignee": f.assignee}
    return [{"kind": "task", "id": task_id, "ref": month, "title": title, "department": department,
             "township_code": township_of(org_unit), "assignee": assignee, "deadline": deadline, "status": "open",
             "person_id": None, "progress": round(min(reached / target, 1.0), 4) if target else None}
            for task_id, month, title, department, org_unit, assignee, deadline, reached, target
            in await conn.execute(query, values)]


@lru_cache(maxsize=16)
def _rectification_statement(window: str, department: bool, township: bool) -> Any:
    """The first rectifications awaiting their unit a filter of this shape keeps, by deadline then id."""
    query = _window(select(_e.rectification_id, _e.number, _e.problem, _e.responsible_unit, _e.township_code,
                           _e.deadline, _e.status)
                    .where(*_RECTIFICATION_OPEN).order_by(_e.deadline, _e.rectification_id)
                    .limit(bindparam("first")), _e.deadline, window)
    if department:
        query = query.where(_e.responsible_unit == bindparam("department"))
    if township:
        query = query.where(_e.township_code == bindparam("township"))
    return query


async def _rectification_page(conn: AsyncConnection, horizon: date, today: date, f: WorkFilter,
                              first: int) -> list[dict[str, Any]]:
    if first <= 0 or f.kind not in (None, "rectification") or f.assignee is not None:  # no assignee
        return []
    query = _rectification_statement(f.window, f.department is not None, f.township is not None)
    values = {"horizon": horizon, "today": today, "first": first, "department": f.department,
              "township": f.township}
    return [{"kind": "rectification", "id": rectification_id, "ref": number or "", "title": problem,
             "department": unit, "township_code": township, "assignee": None, "deadline": deadline,
             "status": status, "person_id": None, "progress": None}
            for rectification_id, number, problem, unit, township, deadline, status
            in await conn.execute(query, values)]


def _plan_item_row(r: Any) -> dict[str, Any]:
    return {"kind": "plan_item", "id": r.item_id, "ref": r.need, "title": r.description,
            "department": r.responsible_department, "township_code": r.township_code, "assignee": None,
            "deadline": r.due_on, "status": "planned", "person_id": r.person_id, "progress": None}


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
    query = _window(select(i.item_id, i.need, i.description, i.responsible_department, i.due_on, i.person_id,
                           pi_persons.c.township_code)
                    .select_from(pi_items.join(pi_persons, pi_persons.c.person_id == i.person_id))
                    .where(i.status == "planned", i.due_on <= bindparam("horizon"), pi_persons.c.active)
                    .order_by(i.due_on, i.item_id).limit(bindparam("first")), i.due_on, window)
    if department:
        query = query.where(i.responsible_department == bindparam("department"))
    if township:
        query = query.where(pi_persons.c.township_code == bindparam("township"))
    return query


async def _names(conn: AsyncConnection) -> dict[str, str]:
    # the plan items' names over the ledger's where both name a code, as when they were read one by one
    return {code: name for code, name, _source in sorted(await conn.execute(_NAMES), key=lambda r: r[2])}


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
    names = await _names(conn)
    # each kind's first ``offset + limit`` rows in the page's order, read in SQL; merged and cut here
    first = offset + limit
    rows = (await _task_page(conn, horizon, today, f, first) + await _rectification_page(conn, horizon, today, f, first)
            + await _plan_item_page(conn, today, horizon, f, first))
    page = sorted((_describe(r, today, names) for r in rows), key=lambda r: (-r["days_overdue"], r["kind"], r["id"]))
    departments: set[tuple[str, str]] = set()
    townships: set[tuple[str, str]] = set()
    assignees: set[str] = set()
    by_kind = {"task": 0, "plan_item": 0, "rectification": 0}
    late = 0
    for group in await _counts(conn, today, horizon):  # every row, counted by kind, unit and due day
        group_row = _describe({"kind": group.kind, "department": group.department,
                               "township_code": group.township_code, "assignee": group.assignee,
                               "deadline": group.deadline}, today, names)
        departments.add((group_row["department"], group_row["department_name"]))
        if group.township_code:
            townships.add((group_row["township_code"], group_row["township_name"]))
        if group.assignee:
            assignees.add(group.assignee)
        if _keep(group_row, f):
            by_kind[group.kind] += group.n
            late += group.n * (group_row["days_overdue"] > 0)
    total = sum(by_kind.values())
    counts = {"overdue": late, "due_soon": total - late}
    return {
        "today": today.isoformat(), "due_soon_days": DUE_SOON_DAYS, "total": total, "counts": counts,
        "by_kind": by_kind, "offset": offset, "limit": limit, "rows": page[offset:first],
        "options": {"departments": [{"code": c, "name": n} for c, n in sorted(departments)],
                    "townships": [{"code": c, "name": n} for c, n in sorted(townships)],
                    "assignees": sorted(assignees)},
    }
