"""JSON views of the task, scoreboard and highlights read models.

Every view that depends on the clock takes ``?today=YYYY-MM-DD`` (default: the real date), so a
dashboard, a test or an auditor can ask "what was overdue on that day" without waiting for it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from services.reporting.queries.tasks import (
    TaskFilter,
    highlights_wall,
    list_tasks,
    publicity_list,
    scoreboard,
    summary,
)
from shared.auth import CurrentPrincipal
from shared.catalogue.worklists import MONTH_PATTERN
from shared.http.bounds import DayBounds, Offset
from shared.runtime import ServiceRuntime

tasks_router = APIRouter(tags=["tasks"])

Today = Annotated[date | None, Query(description="Judge overdue and due soon as of this day (default: today)"),
                  DayBounds]
MonthQ = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]
YearQ = Annotated[int | None, Query(ge=2000, le=2100)]
Status = Literal["open", "completed", "cancelled"]


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


@tasks_router.get("/tasks", summary="Responsibility-checklist tasks, filtered; overdue and due soon as of `today`")
async def get_tasks(
    request: Request, _who: CurrentPrincipal, today: Today = None, month: MonthQ = None, year: YearQ = None,
    department: str | None = None, status: Status | None = None, assignee: str | None = None,
    overdue: bool | None = None, due_soon: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500, offset: Offset = 0,
) -> dict[str, Any]:
    f = TaskFilter(month=month, year=year, department=department, status=status, assignee=assignee,
                   overdue=overdue, due_soon=due_soon)
    async with _runtime(request).engine.connect() as conn:
        return await list_tasks(conn, f, today or date.today(), limit=limit, offset=offset)


@tasks_router.get("/tasks/summary", summary="Task counts in total and by month and department")
async def get_task_summary(
    request: Request, _who: CurrentPrincipal, today: Today = None, month: MonthQ = None, year: YearQ = None,
    department: str | None = None, assignee: str | None = None,
) -> dict[str, Any]:
    f = TaskFilter(month=month, year=year, department=department, assignee=assignee)
    async with _runtime(request).engine.connect() as conn:
        return await summary(conn, f, today or date.today())


@tasks_router.get("/tasks/scoreboard", summary="Department scoreboard (创先争优): on time, late, overdue, rates")
async def get_task_scoreboard(
    request: Request, _who: CurrentPrincipal, today: Today = None, month: MonthQ = None, year: YearQ = None,
) -> dict[str, Any]:
    async with _runtime(request).engine.connect() as conn:
        return await scoreboard(conn, TaskFilter(month=month, year=year), today or date.today())


@tasks_router.get("/highlights", tags=["highlights"], summary="The highlights wall (特色亮点清单), featured first")
async def get_highlights(
    request: Request, _who: CurrentPrincipal, department: str | None = None,
    status: Literal["submitted", "approved", "rejected", "featured"] | None = None,
) -> list[dict[str, Any]]:
    async with _runtime(request).engine.connect() as conn:
        return await highlights_wall(conn, department, status)


@tasks_router.get("/publicity", tags=["highlights"], summary="Publicity items (宣传清单), newest first")
async def get_publicity(request: Request, _who: CurrentPrincipal, department: str | None = None) -> list[Any]:
    async with _runtime(request).engine.connect() as conn:
        return await publicity_list(conn, department)
