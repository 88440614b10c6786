"""Task queries on the run's database backend: status, overdue and due soon are computed in SQL
against the day asked about, so the same rows answer differently as the clock moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.projections.tasks import TASKS, metadata
from services.reporting.queries.tasks import TaskFilter, list_tasks, scoreboard, summary
from shared.catalogue import EventPayload
from shared.catalogue import worklists as ev
from shared.db import create_engine
from shared.projection import apply_sql
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.integration

ISSUED_ON = date(2026, 3, 1)


def _issued(task_id: str, department: str, deadline: date, assignee: str | None = None) -> ev.TaskIssued:
    return ev.TaskIssued(task_id=task_id, month="2026-03", responsible_department=department,
                         list_id="tasklist-federation-2026-03", issuer_department="federation", title=task_id,
                         description="d", metric="m", unit="人", target_value=10, assignee=assignee,
                         complete_when_target_reached=False, issued_on=ISSUED_ON, deadline=deadline)


def _completed(task_id: str, department: str, on: date, deadline: date) -> ev.TaskCompleted:
    return ev.TaskCompleted(task_id=task_id, month="2026-03", responsible_department=department, completed_on=on,
                            how="reported", deadline=deadline, on_time=on <= deadline)


EVENTS: list[EventPayload] = [
    _issued("overdue", "health", date(2026, 3, 10), assignee="张"),
    _issued("due-soon", "health", date(2026, 3, 17)),
    _issued("on-time", "health", date(2026, 3, 15)),
    _completed("on-time", "health", date(2026, 3, 14), date(2026, 3, 15)),
    _issued("late", "civil_affairs", date(2026, 3, 5)),
    _completed("late", "civil_affairs", date(2026, 3, 9), date(2026, 3, 5)),
    _issued("cancelled", "civil_affairs", date(2026, 3, 8)),
    ev.TaskCancelled(task_id="cancelled", month="2026-03", responsible_department="civil_affairs", reason="合并",
                     cancelled_on=date(2026, 3, 6)),
]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        for version, event in enumerate(EVENTS, start=1):
            envelope = envelope_for(event, version=version, time=datetime(2026, 3, 15, tzinfo=UTC))
            await apply_sql(conn, TASKS.changes(envelope, event))
    yield engine
    await engine.dispose()


async def _ids(engine: AsyncEngine, f: TaskFilter, today: date) -> list[str]:
    async with engine.connect() as conn:
        return [t["task_id"] for t in (await list_tasks(conn, f, today, limit=100, offset=0))["tasks"]]


async def test_overdue_and_due_soon_move_with_the_day_asked_about(engine: AsyncEngine) -> None:
    march_12, march_21 = date(2026, 3, 12), date(2026, 3, 21)
    assert await _ids(engine, TaskFilter(overdue=True), march_12) == ["overdue"]
    assert await _ids(engine, TaskFilter(due_soon=True), march_12) == ["due-soon"]
    assert await _ids(engine, TaskFilter(overdue=True), march_21) == ["overdue", "due-soon"]
    assert await _ids(engine, TaskFilter(overdue=True), date(2026, 3, 10)) == []
    assert await _ids(engine, TaskFilter(due_soon=True), date(2026, 3, 10)) == ["overdue", "due-soon"]
    assert await _ids(engine, TaskFilter(overdue=False, status="open"), march_12) == ["due-soon"]


async def test_filters_by_status_department_assignee_month_and_year(engine: AsyncEngine) -> None:
    today = date(2026, 3, 12)
    assert await _ids(engine, TaskFilter(status="cancelled"), today) == ["cancelled"]
    assert await _ids(engine, TaskFilter(status="completed"), today) == ["late", "on-time"]
    assert await _ids(engine, TaskFilter(department="civil_affairs"), today) == ["late", "cancelled"]
    assert await _ids(engine, TaskFilter(assignee="张"), today) == ["overdue"]
    assert len(await _ids(engine, TaskFilter(month="2026-03", year=2026), today)) == 5
    assert await _ids(engine, TaskFilter(month="2026-04"), today) == []


async def test_scoreboard_and_summary(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        board = await scoreboard(conn, TaskFilter(year=2026), date(2026, 3, 12))
        later = await scoreboard(conn, TaskFilter(year=2026), date(2026, 3, 12) + timedelta(days=30))
        totals = await summary(conn, TaskFilter(), date(2026, 3, 12))
    by_department = {d["department"]: d for d in board["departments"]}
    assert by_department["health"] | {"rank": 0} == {
        "department": "health", "rank": 0, "tasks": 3, "open": 2, "completed": 1, "completed_on_time": 1,
        "completed_late": 0, "overdue": 1, "due_soon": 1, "cancelled": 0, "completion_rate": 0.3333,
        "on_time_rate": 0.5}
    assert by_department["civil_affairs"]["tasks"] == 1 and by_department["civil_affairs"]["cancelled"] == 1
    assert by_department["civil_affairs"]["on_time_rate"] == 0.0
    assert [d["department"] for d in board["departments"]] == ["health", "civil_affairs"]
    assert {d["department"]: d["overdue"] for d in later["departments"]} == {"health": 2, "civil_affairs": 0}
    assert totals["total"]["tasks"] == 4 and len(totals["by_month_and_department"]) == 2
