"""Scoreboards (创先争优) for the dashboard: departments and townships side by side, with monthly trends.

Composes the read models' own queries: task completion (tasks), open and overdue rectifications
(ledger), overdue plan items (plan items), coverage, and inspection scores. Departments rank by
on-time completion, then fewest overdue items, then fewest open rectifications; townships by visit
coverage, plan coverage, then fewest overdue items.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.plan_items import month_of, pi_due_counts, pi_due_month_counts, pi_names
from services.reporting.queries import inspection_results as inspection_views
from services.reporting.queries import rectifications as ledger_views
from services.reporting.queries import tasks as task_views
from services.reporting.queries.coverage import district_children


def _blank_department(code: str, names: dict[str, str]) -> dict[str, Any]:
    return {"code": code, "name": names.get(code, code), "tasks": 0, "completed_on_time": 0, "completed_late": 0,
            "on_time_rate": None, "completion_rate": None, "overdue_tasks": 0, "open_rectifications": 0,
            "overdue_rectifications": 0, "overdue_plan_items": 0}


@dataclass(frozen=True)
class BoardCounts:
    """What both boards count of the ledger and the plan items, read once for the two of them.

    Each count is read in one ``GROUP BY`` over both keys (department and township) and summed here
    per key: the boards used to read the same counter rows once per board.
    """

    open_and_overdue: dict[str, dict[Any, tuple[int, int]]]  # by "responsible_unit" / "township_code"
    overdue_plan_items: dict[str, dict[str, int]]  # by "responsible_department" / "township_code"


_month, _day = pi_due_month_counts.c, pi_due_counts.c
# Built once, with the day as a parameter: building statements per request cost more than running them.
# One statement for the months and the days (a round trip costs more than its few hundred rows).
_OVERDUE_PLAN_ITEMS = union_all(
    select(_month.responsible_department, _month.township_code, func.sum(_month.planned))
    .where(_month.due_month < bindparam("month")).group_by(_month.responsible_department, _month.township_code),
    select(_day.responsible_department, _day.township_code, func.sum(_day.planned))
    .where(_day.due_on >= bindparam("month"), _day.due_on < bindparam("today"))
    .group_by(_day.responsible_department, _day.township_code))
_NAMES = select(pi_names.c.code, pi_names.c.name).where(pi_names.c.kind.in_(("department", "township")))


async def _overdue_plan_items(conn: AsyncConnection, today: date) -> dict[str, dict[str, int]]:
    """Planned items of active persons due before ``today``, per department and per township.

    From the counters (projections/plan_items.py), not the items: whole months before this one from
    ``pi_due_month_counts``, this month's days before ``today`` from ``pi_due_counts``.
    """
    found: dict[str, dict[str, int]] = {"responsible_department": {}, "township_code": {}}
    for department, township, n in await conn.execute(_OVERDUE_PLAN_ITEMS, {"month": month_of(today), "today": today}):
        for by, code in (("responsible_department", str(department)), ("township_code", str(township))):
            found[by][code] = found[by].get(code, 0) + int(n)
    return {by: {code: n for code, n in counts.items() if n > 0} for by, counts in found.items()}


async def board_counts(conn: AsyncConnection, today: date) -> BoardCounts:
    """The ledger's open and overdue entries and the overdue plan items on ``today``, for both boards."""
    return BoardCounts(
        open_and_overdue=await ledger_views.open_and_overdue_by(conn, today, ("responsible_unit", "township_code")),
        overdue_plan_items=await _overdue_plan_items(conn, today))


def _rank(rows: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
    ordered = sorted(rows, key=lambda r: (key(r), r["code"]))
    for position, row in enumerate(ordered):
        previous = ordered[position - 1] if position else None
        row["rank"] = previous["rank"] if previous is not None and key(previous) == key(row) else position + 1
    return ordered


async def _monthly_tallies(conn: AsyncConnection, year: int, today: date) -> list[task_views.Tally]:
    """The year's tasks tallied per month and department: the trends' figures, and summed per
    department, the departments board's."""
    t = task_views.T
    return await task_views.tallies(conn, task_views.TaskFilter(year=year), today, t.month, t.responsible_department)


def _per_department(monthly: list[task_views.Tally]) -> dict[str, task_views.Tally]:
    """The monthly tallies summed per department (every count is a sum, so they add up)."""
    found: dict[str, task_views.Tally] = {}
    for m in monthly:
        code = m.extra["responsible_department"]
        found.setdefault(code, task_views.Tally(extra={"department": code})).add(m)
    return found


async def departments_board(conn: AsyncConnection, year: int, today: date, names: dict[str, str],
                            counts: BoardCounts | None = None,
                            monthly: list[task_views.Tally] | None = None) -> list[Any]:
    """Each department's tasks, rectifications and plan items, ranked (``counts`` and ``monthly``:
    already read for the other board and the trends; read here when not given)."""
    if counts is None:
        counts = await board_counts(conn, today)
    if monthly is None:
        monthly = await _monthly_tallies(conn, year, today)
    rows: dict[str, dict[str, Any]] = {}
    for code, tally in _per_department(monthly).items():
        d = tally.as_json()
        row = rows.setdefault(code, _blank_department(code, names))
        row.update({k: d[k] for k in ("tasks", "completed_on_time", "completed_late", "on_time_rate",
                                      "completion_rate")}, overdue_tasks=d["overdue"])
    for code, (open_, late) in counts.open_and_overdue["responsible_unit"].items():
        row = rows.setdefault(code, _blank_department(code, names))
        row.update(open_rectifications=open_, overdue_rectifications=late)
    for code, n in counts.overdue_plan_items["responsible_department"].items():
        rows.setdefault(code, _blank_department(code, names))["overdue_plan_items"] = n
    for row in rows.values():
        row["overdue_total"] = row["overdue_tasks"] + row["overdue_rectifications"] + row["overdue_plan_items"]
    return _rank(list(rows.values()), lambda r: (-(r["on_time_rate"] or 0.0), r["overdue_total"],
                                                 r["open_rectifications"]))


async def townships_board(conn: AsyncConnection, year: int, today: date, names: dict[str, str],
                          scores: dict[str, dict[str, Any]] | None = None,
                          counts: BoardCounts | None = None) -> list[Any]:
    """Each township's coverage, rectifications, overdue plan items and inspection scores, ranked."""
    if counts is None:
        counts = await board_counts(conn, today)
    # one level of the tree (the district's townships), not every unit's coverage
    children = [c.as_json(0) for c in await district_children(conn, year)]
    rows: dict[str, dict[str, Any]] = {c["code"]: {
        "code": c["code"], "name": c["name"], "registered": c["all"]["registered"],
        "visited_rate": c["all"]["visited_rate"], "planned_rate": c["all"]["planned_rate"],
        "delivered_rate": c["all"]["delivered_rate"], "open_rectifications": 0, "overdue_rectifications": 0,
        "overdue_plan_items": 0, "average_score": None, "latest_score": None} for c in children}

    def row(code: str) -> dict[str, Any]:
        return rows.setdefault(code, {"code": code, "name": names.get(code, code), "registered": 0,
                                      "visited_rate": None, "planned_rate": None, "delivered_rate": None,
                                      "open_rectifications": 0, "overdue_rectifications": 0,
                                      "overdue_plan_items": 0, "average_score": None, "latest_score": None})
    for code, (open_, late) in counts.open_and_overdue["township_code"].items():
        if code:
            row(code).update(open_rectifications=open_, overdue_rectifications=late)
    for code, n in counts.overdue_plan_items["township_code"].items():
        row(code)["overdue_plan_items"] = n
    if scores is None:
        scores = await inspection_views.township_score_summary(conn)
    for code, township in scores.items():
        row(code).update(average_score=township["average_score"], latest_score=township["latest_score"])
    for r in rows.values():
        r["overdue_total"] = r["overdue_rectifications"] + r["overdue_plan_items"]
    return _rank(list(rows.values()), lambda r: (-(r["visited_rate"] or 0.0), -(r["planned_rate"] or 0.0),
                                                 r["overdue_total"]))


async def trends(conn: AsyncConnection, year: int, today: date,
                 scores: dict[str, dict[str, Any]] | None = None,
                 monthly: list[task_views.Tally] | None = None) -> dict[str, Any]:
    """Month by month: each department's on-time rate, each township's average inspection score."""
    if monthly is None:
        monthly = await _monthly_tallies(conn, year, today)
    departments: dict[str, dict[str, Any]] = defaultdict(dict)
    for tally in monthly:
        row = tally.as_json()
        departments[row["responsible_department"]][row["month"]] = row["on_time_rate"]
    months = [f"{year:04d}-{m:02d}" for m in range(1, 13)]
    townships: dict[str, list[float | None]] = {}
    if scores is None:
        scores = await inspection_views.township_score_summary(conn)
    for code, township in scores.items():
        sums = township["by_month"]
        if any(m in sums for m in months):  # inspected this year
            townships[code] = [round(sums[m][0] / sums[m][1], 1) if m in sums else None for m in months]
    return {"months": months,
            "departments": {code: [series.get(m) for m in months] for code, series in departments.items()},
            "townships": townships}


async def scoreboards(conn: AsyncConnection, year: int, today: date) -> dict[str, Any]:
    """Both boards and the trends for ``year`` as of ``today``."""
    names = {code: name for code, name in await conn.execute(_NAMES)}
    # each read once, for both boards and the trends
    scores = await inspection_views.township_score_summary(conn)
    counts = await board_counts(conn, today)
    monthly = await _monthly_tallies(conn, year, today)
    return {"year": year, "today": today.isoformat(),
            "departments": await departments_board(conn, year, today, names, counts, monthly),
            "townships": await townships_board(conn, year, today, names, scores, counts),
            "trends": await trends(conn, year, today, scores, monthly), "names": names}
