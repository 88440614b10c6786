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
    ledger = await ledger_views.overdue(conn, today)
    for u in ledger["by_unit"]:
        row = rows.setdefault(u["code"], _blank_department(u["code"], names))
        row.update(open_rectifications=u["open"], overdue_rectifications=u["overdue"])
    for code, n in (await _overdue_plan_items(conn, today, "responsible_department")).items():
        rows.setdefault(code, _blank_department(code, names))["overdue_plan_items"] = n
    for row in rows.values():
        row["overdue_total"] = row["overdue_tasks"] + row["overdue_rectifications"] + row["overdue_plan_items"]
    return _rank(list(rows.values()), lambda r: (-(r["on_time_rate"] or 0.0), r["overdue_total"],
                                                 r["open_rectifications"]))


async def townships_board(conn: AsyncConnection, year: int, today: date, names: dict[str, str]) -> list[Any]:
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
    for t in (await ledger_views.overdue(conn, today))["by_township"]:
        if t["code"]:
            row(t["code"]).update(open_rectifications=t["open"], overdue_rectifications=t["overdue"])
    for code, n in (await _overdue_plan_items(conn, today, "township_code")).items():
        row(code)["overdue_plan_items"] = n
    scores = await inspection_views.township_scores(conn, template_id=None, since=None, until=None)
    for s in scores:
        if s["township_code"]:
            row(s["township_code"]).update(average_score=s["average_score"], latest_score=s["latest_score"])
    for r in rows.values():
        r["overdue_total"] = r["overdue_rectifications"] + r["overdue_plan_items"]
    return _rank(list(rows.values()), lambda r: (-(r["visited_rate"] or 0.0), -(r["planned_rate"] or 0.0),
                                                 r["overdue_total"]))


async def trends(conn: AsyncConnection, year: int, today: date) -> dict[str, Any]:
    """Month by month: each department's on-time rate, each township's average inspection score."""
    summary = await task_views.summary(conn, task_views.TaskFilter(year=year), today)
    departments: dict[str, dict[str, Any]] = defaultdict(dict)
    for t in summary["by_month_and_department"]:
        departments[t["responsible_department"]][t["month"]] = t["on_time_rate"]
    townships: dict[str, dict[str, Any]] = defaultdict(dict)
    for s in await inspection_views.township_scores(conn, template_id=None, since=date(year, 1, 1),
                                                    until=date(year, 12, 31)):
        for m in s["by_month"]:
            townships[s["township_code"] or ""][m["month"]] = m["average_score"]
    months = [f"{year:04d}-{m:02d}" for m in range(1, 13)]
    return {"months": months,
            "departments": {code: [series.get(m) for m in months] for code, series in departments.items()},
            "townships": {code: [series.get(m) for m in months] for code, series in townships.items() if code}}


async def scoreboards(conn: AsyncConnection, year: int, today: date) -> dict[str, Any]:
    """Both boards and the trends for ``year`` as of ``today``."""
    names = {r.code: r.name for r in await conn.execute(
        select(pi_names.c.code, pi_names.c.name).where(pi_names.c.kind.in_(("department", "township"))))}
    return {"year": year, "today": today.isoformat(),
            "departments": await departments_board(conn, year, today, names),
            "townships": await townships_board(conn, year, today, names),
            "trends": await trends(conn, year, today), "names": names}
