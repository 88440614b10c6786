"""The demo year's plan: plausible, consistent with the checklists' rules, and varied."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from services.stack.demo.pengshan import DEPARTMENTS
from services.stack.demo.worklists import TASK_IDEAS, TEMPLATE_ITEMS, plan_year

pytestmark = pytest.mark.unit

CODES = [code for code, _ in DEPARTMENTS]


def test_every_pengshan_department_has_task_ideas() -> None:
    assert set(TASK_IDEAS) == set(CODES)
    assert len(TEMPLATE_ITEMS) == 8 and len({i["item_id"] for i in TEMPLATE_ITEMS}) == 8


def test_a_past_year_has_twelve_lists_and_tasks_done_on_time_late_and_overdue() -> None:
    plan = plan_year(2025, date(2026, 3, 1), departments=CODES)
    assert {t.month for t in plan} == {f"2025-{m:02d}" for m in range(1, 13)}
    outcomes = Counter(t.outcome for t in plan)
    assert set(outcomes) == {"on_time", "late", "overdue"}
    assert outcomes["on_time"] > outcomes["late"] + outcomes["overdue"]
    assert {t.department for t in plan} == set(CODES)


@pytest.mark.parametrize("today", [date(2026, 1, 1), date(2026, 6, 14), date(2026, 11, 29), date(2026, 12, 31)])
def test_every_date_respects_the_rules_the_service_enforces(today: date) -> None:
    for task in plan_year(2026, today, departments=CODES):
        assert task.issued_on <= today and task.deadline >= task.issued_on
        for day in (task.reported_on, task.completed_on):
            assert day is None or task.issued_on <= day <= today
        if task.reported_on and task.completed_on:
            assert task.reported_on <= task.completed_on
        assert (task.completed_on is not None) == (task.outcome in ("on_time", "late"))
        if task.outcome == "late":
            assert task.completed_on is not None and task.completed_on > task.deadline
        if task.outcome == "on_time":
            assert task.completed_on is not None and task.completed_on <= task.deadline
        if task.outcome == "overdue":
            assert task.deadline < today
        if task.outcome in ("in_progress", "not_started"):
            assert task.deadline >= today


def test_nothing_is_planned_after_today_and_the_plan_is_repeatable() -> None:
    today = date(2026, 4, 2)
    plan = plan_year(2026, today, departments=["health"])
    assert max(t.month for t in plan) == "2026-04"
    assert plan == plan_year(2026, today, departments=["health"])
