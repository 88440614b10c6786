"""Scoreboards (创先争优) for the dashboard: departments and townships side by side, with monthly trends.

Composes the read models' own queries: task completion (tasks), open and overdue rectifications
(ledger), overdue plan items (plan items), coverage, and inspection scores. Departments rank by
on-time completion, then fewest overdue items, then fewest open rectifications; townships by visit
coverage, plan coverage, then fewest overdue items.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.plan_items import month_of, pi_due_counts, pi_due_month_counts, pi_names
from services.reporting.queries import inspection_results as inspection_views
from services.reporting.queries import rectifications as ledger_views
from services.reporting.queries import tasks as task_views
from services.reporting.queries.coverage import coverage
from shared.errors import NotFound


def _blank_department(code: str, names: dict[str, str]) -> dict[str, Any]:
    return {"code": code, "name": names.get(code, code), "tasks": 0, "completed_on_time": 0, "completed_late": 0,
            "on_time_rate": None, "completion_rate": None, "overdue_tasks": 0, "open_rectifications": 0,
            "overdue_rectifications": 0, "overdue_plan_items": 0}


async def _overdue_plan_items(conn: AsyncConnection, today: date, by: str) -> dict[str, int]:
    """Planned items of active persons due before ``today``, per ``by`` (a column of both counters).

    From the counters (projections/plan_items.py), not the items: whole months before this one from
    ``pi_due_month_counts``, this month's days before ``today`` from ``pi_due_counts``.
    """
    month, day = pi_due_month_counts.c, pi_due_counts.c
    found: dict[str, int] = {}
    for query in (select(month[by], func.sum(month.planned)).where(month.due_month < month_of(today))
                  .group_by(month[by]),
                  select(day[by], func.sum(day.planned)).where(day.due_on >= month_of(today), day.due_on < today)
                  .group_by(day[by])):
        for code, n in await conn.execute(query):
            found[str(code)] = found.get(str(code), 0) + int(n)
    return {code: n for code, n in found.items() if n > 0}


def _rank(rows: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
    ordered = sorted(rows, key=lambda r: (key(r), r["code"]))
    for position, row in enumerate(ordered):
        previous = ordered[position - 1] if position else None
        row["rank"] = previous["rank"] if previous is not None and key(previous) == key(row) else position + 1
    return ordered


async def departments_board(conn: AsyncConnection, year: int, today: date, names: dict[str, str]) -> list[Any]:
    """Each department's tasks, rectifications and plan items, ranked."""
    rows: dict[str, dict[str, Any]] = {}
    board = await task_views.scoreboard(conn, task_views.TaskFilter(year=year), today)
    for d in board["departments"]:
        row = rows.setdefault(d["department"], _blank_department(d["department"], names))
        row.update({k: d[k] for k in ("tasks", "completed_on_time", "completed_late", "on_time_rate",
                                      "completion_rate")}, overdue_tasks=d["overdue"])
    for code, (open_, late) in (await ledger_views.open_and_overdue(conn, today, "responsible_unit")).items():
        row = rows.setdefault(code, _blank_department(code, names))
        row.update(open_rectifications=open_, overdue_rectifications=late)
    for code, n in (await _overdue_plan_items(conn, today, "responsible_department")).items():
        rows.setdefault(code, _blank_department(code, names))["overdue_plan_items"] = n
    for row in rows.values():
        row["overdue_total"] = row["overdue_tasks"] + row["overdue_rectifications"] + row["overdue_plan_items"]
    return _rank(list(rows.values()), lambda r: (-(r["on_time_rate"] or 0.0), r["overdue_total"],
                                                 r["open_rectifications"]))


async def townships_board(conn: AsyncConnection, year: int, today: date, names: dict[str, str],
                          scores: dict[str, dict[str, Any]] | None = None) -> list[Any]:
    """Each township's coverage, rectifications, overdue plan items and inspection scores, ranked."""
    try:
        district = await coverage(conn, year, None, 1)
        children = district.get("children", [])
    except NotFound:
        children = []
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
    for code, (open_, late) in (await ledger_views.open_and_overdue(conn, today, "township_code")).items():
        if code:
            row(code).update(open_rectifications=open_, overdue_rectifications=late)
    for code, n in (await _overdue_plan_items(conn, today, "township_code")).items():
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
                 scores: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Month by month: each department's on-time rate, each township's average inspection score."""
    t = task_views.T
    departments: dict[str, dict[str, Any]] = defaultdict(dict)
    for tally in await task_views.tallies(conn, task_views.TaskFilter(year=year), today, t.month,
                                          t.responsible_department):
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
    names = {r.code: r.name for r in await conn.execute(
        select(pi_names.c.code, pi_names.c.name).where(pi_names.c.kind.in_(("department", "township"))))}
    scores = await inspection_views.township_score_summary(conn)  # for both the board and the trends
    return {"year": year, "today": today.isoformat(),
            "departments": await departments_board(conn, year, today, names),
            "townships": await townships_board(conn, year, today, names, scores),
            "trends": await trends(conn, year, today, scores), "names": names}
