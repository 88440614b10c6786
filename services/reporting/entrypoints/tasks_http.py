"""JSON views of the task, scoreboard and highlights read models.

Every view that depends on the clock takes ``?today=YYYY-MM-DD`` (default: the real date), so a
dashboard, a test or an auditor can ask "what was overdue on that day" without waiting for it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.reporting.entrypoints import schemas as s
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
from shared.http.deps import ReadConnection

tasks_router = APIRouter(tags=["tasks"])

Today = Annotated[date | None, Query(description="Judge overdue and due soon as of this day (default: today)"),
                  DayBounds]
MonthQ = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]
YearQ = Annotated[int | None, Query(ge=2000, le=2100)]
Status = Literal["open", "completed", "cancelled"]


@tasks_router.get("/tasks", summary="Responsibility-checklist tasks, filtered; overdue and due soon as of `today`")
async def get_tasks(
    _who: CurrentPrincipal, conn: ReadConnection, today: Today = None, month: MonthQ = None, year: YearQ = None,
    department: str | None = None, status: Status | None = None, assignee: str | None = None,
    overdue: bool | None = None, due_soon: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500, offset: Offset = 0,
) -> s.Tasks:
    f = TaskFilter(month=month, year=year, department=department, status=status, assignee=assignee,
                   overdue=overdue, due_soon=due_soon)
    return s.Tasks.model_validate(await list_tasks(conn, f, today or date.today(), limit=limit, offset=offset))


@tasks_router.get("/tasks/summary", summary="Task counts in total and by month and department")
async def get_task_summary(
    _who: CurrentPrincipal, conn: ReadConnection, today: Today = None, month: MonthQ = None, year: YearQ = None,
    department: str | None = None, assignee: str | None = None,
) -> s.TaskSummary:
    f = TaskFilter(month=month, year=year, department=department, assignee=assignee)
    return s.TaskSummary.model_validate(await summary(conn, f, today or date.today()))


@tasks_router.get("/tasks/scoreboard", summary="Department scoreboard (创先争优): on time, late, overdue, rates")
async def get_task_scoreboard(
    _who: CurrentPrincipal, conn: ReadConnection, today: Today = None, month: MonthQ = None, year: YearQ = None,
) -> s.Scoreboard:
    return s.Scoreboard.model_validate(await scoreboard(conn, TaskFilter(month=month, year=year),
                                                        today or date.today()))


@tasks_router.get("/highlights", tags=["highlights"], summary="The highlights wall (特色亮点清单), featured first")
async def get_highlights(
    _who: CurrentPrincipal, conn: ReadConnection, department: str | None = None,
    status: Literal["submitted", "approved", "rejected", "featured"] | None = None,
) -> list[s.WallHighlight]:
    return [s.WallHighlight.model_validate(h) for h in await highlights_wall(conn, department, status)]


@tasks_router.get("/publicity", tags=["highlights"], summary="Publicity items (宣传清单), newest first")
async def get_publicity(
    _who: CurrentPrincipal, conn: ReadConnection, department: str | None = None
) -> list[s.Publicity]:
    return [s.Publicity.model_validate(p) for p in await publicity_list(conn, department)]
