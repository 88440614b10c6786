"""The work list paged in SQL agrees with the rule applied row by row: for every filter and page,
the rows, the totals and the filter options are those of every open task, rectification and plan
item read into Python, filtered, sorted most overdue first and cut (on the run's database backend).
The ledger page's summary, counted in SQL, agrees with the overdue entries read one by one."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.projections import counters
from services.reporting.projections.plan_items import pi_items, pi_names, pi_persons
from services.reporting.projections.rectifications import ledger_entries, ledger_names
from services.reporting.projections.tasks import rpt_tasks
from services.reporting.queries.rectifications import overdue, overdue_counts
from services.reporting.queries.worklist import WorkFilter, township_of, worklist
from services.reporting.read_models import SCHEMA
from shared.db import create_engine
from shared.deadlines import due_soon_until

pytestmark = pytest.mark.integration

TODAY = date(2026, 6, 30)
TOWNSHIPS = ("511403001000", "511403002000", "511403100000")
# a task's unit may be a township, a village, the district or none; only the first two have a township
UNITS = (None, "511403000000", "511403001000", "511403001004", "511403002011", "511403100000", "511403100002")
DEPARTMENTS = ("health", "civil", "education")


def _rows() -> dict[Any, list[dict[str, Any]]]:
    rng = random.Random(7)
    tasks = [{
        "task_id": f"task-{n:03d}", "month": "2026-06", "list_id": "l",
        "responsible_department": rng.choice(DEPARTMENTS),
        "issuer_department": "federation", "title": f"任务{n}", "metric": "m", "unit": "人", "target_value": 10,
        "value_reached": rng.choice((0, 4, 12)), "issued_on": date(2026, 5, 1),
        "deadline": TODAY + timedelta(days=rng.randint(-40, 12)), "org_unit_code": rng.choice(UNITS),
        "assignee": rng.choice((None, "staff-a", "staff-b")),
        "completed_on": TODAY if rng.random() < 0.2 else None,
        "cancelled_on": TODAY if rng.random() < 0.1 else None} for n in range(60)]
    entries = [{
        "rectification_id": f"rect-{n:03d}", "number": f"ZG-2026-{n:04d}" if n % 7 else None, "finding_id": f"f{n}",
        "inspection_id": "i", "group_id": "g", "township_code": rng.choice((*TOWNSHIPS, None)),
        "responsible_unit": rng.choice(DEPARTMENTS), "target_kind": "township", "target_code": TOWNSHIPS[0],
        "target_name": "t", "problem": "p", "measures": "m", "deadline": TODAY + timedelta(days=rng.randint(-30, 12)),
        "status": rng.choice(("assigned", "reported", "reopened", "closed")), "assigned_on": date(2026, 5, 1),
    } for n in range(50)]
    persons = [{"person_id": f"p{n:02d}", "village_code": TOWNSHIPS[n % 3][:9] + "001",
                "township_code": TOWNSHIPS[n % 3], "active": n % 9 != 0} for n in range(30)]
    items = [{
        "item_id": f"item-{n:03d}", "plan_id": f"plan-{n % 30}", "person_id": f"p{n % 30:02d}", "year": 2026,
        "kind": "service", "need": "medical", "description": "d", "responsible_department": rng.choice(DEPARTMENTS),
        "due_on": TODAY + timedelta(days=rng.randint(-200, 12)),
        "status": rng.choice(("planned", "planned", "delivered"))} for n in range(80)]
    names = [{"code": c, "name": f"名{c}", "kind": "township"} for c in TOWNSHIPS[:2]]
    names += [{"code": "health", "name": "卫健局", "kind": "department"}]
    return {rpt_tasks: tasks, ledger_entries: entries, pi_persons: persons, pi_items: items, ledger_names: names,
            pi_names: [{"code": "civil", "name": "民政局", "kind": "department", "parent_code": None}]}


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        for metadata in SCHEMA:
            await conn.run_sync(metadata.create_all)
        for table, rows in _rows().items():
            await conn.execute(insert(table), rows)
        await counters.fill(conn)
    try:
        yield engine
    finally:
        await engine.dispose()


def _every_row() -> list[dict[str, Any]]:
    """Every row the work list shows on TODAY, unfiltered, the rule applied one row at a time."""
    rows, horizon = _rows(), due_soon_until(TODAY)
    active = {p["person_id"]: p for p in rows[pi_persons] if p["active"]}
    found = [{"kind": "task", "id": t["task_id"], "department": t["responsible_department"],
              "township_code": township_of(t["org_unit_code"]), "assignee": t["assignee"], "deadline": t["deadline"]}
             for t in rows[rpt_tasks] if t["completed_on"] is None and t["cancelled_on"] is None
             and t["deadline"] <= horizon]
    found += [{"kind": "rectification", "id": e["rectification_id"], "department": e["responsible_unit"],
               "township_code": e["township_code"], "assignee": None, "deadline": e["deadline"]}
              for e in rows[ledger_entries] if e["status"] in ("assigned", "reopened") and e["deadline"] <= horizon]
    found += [{"kind": "plan_item", "id": i["item_id"], "department": i["responsible_department"],
               "township_code": active[i["person_id"]]["township_code"], "assignee": None, "deadline": i["due_on"]}
              for i in rows[pi_items] if i["status"] == "planned" and i["person_id"] in active
              and i["due_on"] <= horizon]
    return found


def _expected(f: WorkFilter, offset: int, limit: int) -> dict[str, Any]:
    every = _every_row()
    kept = [r for r in every
            if (f.window == "both" or (r["deadline"] < TODAY) == (f.window == "overdue"))
            and all(v is None or r[k] == v for k, v in (("kind", f.kind), ("department", f.department),
                                                        ("township_code", f.township), ("assignee", f.assignee)))]
    kept.sort(key=lambda r: (r["deadline"], r["kind"], r["id"]))
    late = sum(r["deadline"] < TODAY for r in kept)
    return {"total": len(kept), "counts": {"overdue": late, "due_soon": len(kept) - late},
            "by_kind": {k: sum(r["kind"] == k for r in kept) for k in ("task", "plan_item", "rectification")},
            "ids": [r["id"] for r in kept[offset:offset + limit]],
            "departments": sorted({r["department"] for r in every}),
            "townships": sorted({r["township_code"] for r in every if r["township_code"]}),
            "assignees": sorted({r["assignee"] for r in every if r["assignee"]})}


FILTERS = [WorkFilter(), WorkFilter(kind="task"), WorkFilter(kind="rectification"), WorkFilter(kind="plan_item"),
           WorkFilter(window="overdue"), WorkFilter(window="due_soon"), WorkFilter(department="health"),
           WorkFilter(township=TOWNSHIPS[0]), WorkFilter(township=TOWNSHIPS[2], window="overdue"),
           WorkFilter(township="511403001004"), WorkFilter(assignee="staff-a"),
           WorkFilter(kind="task", township=TOWNSHIPS[1], assignee="staff-b", department="civil")]


@pytest.mark.parametrize("f", FILTERS, ids=repr)
async def test_every_page_of_the_work_list_is_the_rule_applied_row_by_row(engine: AsyncEngine, f: WorkFilter) -> None:
    async with engine.connect() as conn:
        for offset, limit in ((0, 7), (7, 7), (5, 20), (0, 500), (150, 10)):
            got = await worklist(conn, TODAY, f, offset=offset, limit=limit)
            want = _expected(f, offset, limit)
            assert {k: got[k] for k in ("total", "counts", "by_kind")} == {k: want[k] for k in
                                                                          ("total", "counts", "by_kind")}
            assert [r["id"] for r in got["rows"]] == want["ids"], (offset, limit)
            assert [d["code"] for d in got["options"]["departments"]] == want["departments"]
            assert [t["code"] for t in got["options"]["townships"]] == want["townships"]
            assert got["options"]["assignees"] == want["assignees"]
            for row in got["rows"]:  # each row as it is shown
                assert row["days_overdue"] == (TODAY - date.fromisoformat(row["deadline"])).days
                assert row["department_name"] == {"health": "卫健局", "civil": "民政局"}.get(row["department"],
                                                                                         row["department"])


async def test_the_ledger_summary_counts_are_the_overdue_lists_without_their_numbers(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        for day in (TODAY, TODAY - timedelta(days=20), TODAY + timedelta(days=30)):
            listed, counted = await overdue(conn, day), await overdue_counts(conn, day)
            for groups in (listed["by_unit"], listed["by_township"]):
                for group in groups:
                    assert len(group.pop("overdue_numbers")) == group["overdue"]
            assert counted == listed
            assert counted["overdue"] > 0 and any(g["code"] is None for g in counted["by_township"])
