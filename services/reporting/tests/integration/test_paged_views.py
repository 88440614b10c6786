"""The dashboards' long lists, paged in the query on the run's database backend: every page says how
many rows there are in all, pages do not overlap, and filters count before paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.projections import counters
from services.reporting.projections.coverage import cov_persons, cov_units
from services.reporting.projections.inspection_results import insp_inspections
from services.reporting.projections.plan_items import pi_items, pi_persons
from services.reporting.projections.rectifications import ledger_entries
from services.reporting.projections.tasks import rpt_tasks
from services.reporting.queries.coverage_persons import persons_to_follow_up
from services.reporting.queries.inspection_results import township_score_summary, township_scores
from services.reporting.queries.rectifications import LedgerFilter, ledger_page
from services.reporting.queries.scoreboards import departments_board, townships_board
from services.reporting.queries.worklist import WorkFilter, worklist
from services.reporting.read_models import SCHEMA
from shared.db import create_engine

pytestmark = pytest.mark.integration

TODAY = date(2026, 6, 30)
TOWNSHIP = "511403001000"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        for metadata in SCHEMA:
            await conn.run_sync(metadata.create_all)
        await conn.execute(insert(rpt_tasks), [{
            "task_id": f"task-{n:02d}", "month": "2026-06", "list_id": "l", "responsible_department": "health",
            "issuer_department": "federation", "title": f"任务{n}", "metric": "m", "unit": "人", "target_value": 10,
            "value_reached": 0, "issued_on": date(2026, 6, 1), "deadline": TODAY - timedelta(days=n),
            "org_unit_code": None, "assignee": None,
        } for n in range(1, 8)])
        await conn.execute(insert(cov_units), [{"code": TOWNSHIP, "name": "凤鸣街道", "level": "township",
                                                 "parent_code": "511403000000"}])
        await conn.execute(insert(cov_persons), [{
            "person_id": f"p{n:02d}", "village_code": "511403001001", "township_code": TOWNSHIP, "category": 4,
            "grade": 1 if n % 3 == 0 else 3, "severe": n % 3 == 0, "hardship": n % 2 == 0, "active": True,
        } for n in range(1, 12)])
        await conn.execute(insert(ledger_entries), [{
            "rectification_id": f"rect-{n:02d}", "number": f"ZG-2026-{n:04d}", "finding_id": f"f{n}",
            "inspection_id": "i", "group_id": "g", "township_code": TOWNSHIP, "responsible_unit": "health",
            "target_kind": "township", "target_code": TOWNSHIP, "target_name": "凤鸣街道", "problem": "p",
            "measures": "m", "deadline": TODAY + timedelta(days=n - 5), "status": "assigned",
            "assigned_on": date(2026, 5, n),
        } for n in range(1, 10)])
        await counters.fill(conn)  # rows written directly: count them as the projections' tallies would
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_the_work_list_is_paged_after_filtering_and_counts_everything(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        first = await worklist(conn, TODAY, WorkFilter(), offset=0, limit=3)
        rest = await worklist(conn, TODAY, WorkFilter(), offset=3, limit=3)
        last = await worklist(conn, TODAY, WorkFilter(), offset=6, limit=3)
        whole = await worklist(conn, TODAY, WorkFilter(), limit=500)
    assert first["total"] == rest["total"] == last["total"] == whole["total"] == 7 + 9
    assert first["counts"] == whole["counts"] and first["by_kind"] == {"task": 7, "plan_item": 0, "rectification": 9}
    assert [len(p["rows"]) for p in (first, rest, last)] == [3, 3, 3]
    paged = [r["id"] for p in (first, rest, last) for r in p["rows"]]
    assert paged == [r["id"] for r in whole["rows"]][:9]  # the same order, no row twice
    assert (first["offset"], first["limit"], rest["offset"]) == (0, 3, 3)
    async with engine.connect() as conn:
        tasks = await worklist(conn, TODAY, WorkFilter(kind="task"), offset=5, limit=50)
    assert tasks["total"] == 7 and [r["id"] for r in tasks["rows"]] == ["task-02", "task-01"]


async def test_persons_to_follow_up_are_paged_and_filtered_in_sql(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        first = await persons_to_follow_up(conn, 2026, TOWNSHIP, "any", offset=0, limit=4)
        second = await persons_to_follow_up(conn, 2026, TOWNSHIP, "any", offset=4, limit=4)
        beyond = await persons_to_follow_up(conn, 2026, TOWNSHIP, "any", offset=40, limit=4)
        severe = await persons_to_follow_up(conn, 2026, None, "visit", severe=True, limit=50)
        neither = await persons_to_follow_up(conn, 2026, None, "plan", severe=False, hardship=False, limit=50)
    assert first["total"] == second["total"] == beyond["total"] == 11
    assert (first["shown"], second["shown"], beyond["shown"]) == (4, 4, 0)
    assert not {p["person_id"] for p in first["persons"]} & {p["person_id"] for p in second["persons"]}
    assert [p["severe"] for p in first["persons"]][:3] == [True, True, True]  # severe first, across pages
    assert severe["total"] == 3 and all(p["severe"] for p in severe["persons"])
    assert neither["total"] == 4 and not any(p["severe"] or p["hardship"] for p in neither["persons"])


async def test_the_ledger_is_paged_with_its_total_and_filters_count_before_paging(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        total, page = await ledger_page(conn, TODAY, LedgerFilter(), offset=5, limit=3)
        late, late_page = await ledger_page(conn, TODAY, LedgerFilter(overdue=True), offset=0, limit=2)
    assert total == 9 and [e["number"] for e in page] == ["ZG-2026-0006", "ZG-2026-0007", "ZG-2026-0008"]
    assert late == 4 and [e["number"] for e in late_page] == ["ZG-2026-0001", "ZG-2026-0002"]
    assert all(e["overdue"] for e in late_page)


async def test_plan_items_are_counted_over_past_months_and_this_months_days(engine: AsyncEngine) -> None:
    other = "511403003000"
    items = [  # (person, due day, status): TODAY is 2026-06-30, due soon runs to 2026-07-07
        ("a", date(2025, 11, 3), "planned"), ("a", date(2026, 4, 15), "planned"), ("b", date(2026, 6, 1), "planned"),
        ("a", date(2026, 6, 29), "planned"), ("b", TODAY, "planned"), ("a", date(2026, 7, 3), "planned"),
        ("a", date(2026, 7, 20), "planned"), ("b", date(2026, 5, 2), "delivered"), ("gone", date(2026, 5, 2),
                                                                                     "planned")]
    async with engine.begin() as conn:
        await conn.execute(insert(pi_persons), [
            {"person_id": "a", "village_code": "511403001001", "township_code": TOWNSHIP, "active": True},
            {"person_id": "b", "village_code": "511403003001", "township_code": other, "active": True},
            {"person_id": "gone", "village_code": "511403001001", "township_code": TOWNSHIP, "active": False}])
        await conn.execute(insert(pi_items), [{
            "item_id": f"item-{n}", "plan_id": f"plan-{person}", "person_id": person, "year": due.year,
            "kind": "service", "need": "medical", "description": "d", "responsible_department": "health",
            "due_on": due, "status": status} for n, (person, due, status) in enumerate(items)])
        await counters.fill(conn)
    async with engine.connect() as conn:
        listed = await worklist(conn, TODAY, WorkFilter(kind="plan_item"), limit=50)
        township = await worklist(conn, TODAY, WorkFilter(kind="plan_item", township=TOWNSHIP), limit=50)
        overdue = await worklist(conn, TODAY, WorkFilter(kind="plan_item", window="overdue"), limit=2)
        names: dict[str, str] = {}
        departments = {d["code"]: d["overdue_plan_items"] for d in await departments_board(conn, 2026, TODAY, names)}
        townships = {t["code"]: t["overdue_plan_items"] for t in await townships_board(conn, 2026, TODAY, names)}
    assert (listed["total"], listed["counts"]) == (6, {"overdue": 4, "due_soon": 2})
    assert [r["id"] for r in listed["rows"]] == ["item-0", "item-1", "item-2", "item-3", "item-4", "item-5"]
    assert (township["total"], township["counts"]) == (4, {"overdue": 3, "due_soon": 1})
    assert overdue["total"] == 4 and [r["id"] for r in overdue["rows"]] == ["item-0", "item-1"]
    assert departments["health"] == 4
    assert (townships[TOWNSHIP], townships[other]) == (3, 1)


async def test_the_scoreboards_score_summary_agrees_with_the_inspections_read_one_by_one(engine: AsyncEngine) -> None:
    other = "511403003000"
    scored = [  # (id, township, completed on, score, status): the latest by day, then by id
        ("i1", TOWNSHIP, date(2026, 3, 2), 80.0, "completed"), ("i2", TOWNSHIP, date(2026, 3, 2), 90.0, "completed"),
        ("i3", TOWNSHIP, date(2026, 4, 9), 70.0, "completed"), ("i4", TOWNSHIP, date(2026, 5, 1), None, "completed"),
        ("i5", other, date(2026, 4, 9), 60.5, "completed"), ("i6", other, date(2026, 6, 1), 99.0, "in_progress"),
        ("i0", other, date(2026, 4, 9), 61.0, "completed")]
    async with engine.begin() as conn:
        await conn.execute(insert(insp_inspections), [{
            "inspection_id": i, "group_id": "g", "target_kind": "township", "target_code": code, "target_name": code,
            "township_code": code, "template_id": "t", "template_version": 1, "status": status,
            "scheduled_on": on, "completed_on": on if status == "completed" else None, "score": score}
            for i, code, on, score, status in scored])
    async with engine.connect() as conn:
        summary = await township_score_summary(conn)
        one_by_one = await township_scores(conn, template_id=None, since=None, until=None)
    assert {code: (s["average_score"], s["latest_score"]) for code, s in summary.items()} == {
        s["township_code"]: (s["average_score"], s["latest_score"]) for s in one_by_one}
    assert summary[TOWNSHIP]["latest_score"] == 70.0 and summary[other]["latest_score"] == 60.5
    assert summary[TOWNSHIP]["by_month"] == {"2026-03": [170.0, 2], "2026-04": [70.0, 1]}
