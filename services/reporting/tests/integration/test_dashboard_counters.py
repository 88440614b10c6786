"""The dashboards' counters on the run's database backend: applied live (SQL, event by event) they
equal a rebuild's (in memory), and both equal a count of the rows (the migration's fill)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.reporting.projections import counters
from services.reporting.projections.coverage import COVERAGE, cov_counts, cov_lost_reasons, cov_year_counts
from services.reporting.projections.plan_items import PLAN_ITEMS, pi_due_counts, pi_due_month_counts
from services.reporting.read_models import SCHEMA
from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.db import create_engine
from shared.migrations import migrate, trees_for
from shared.projection import MemoryModel, apply_folded, apply_sql
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.integration

COUNTERS = (cov_counts, cov_year_counts, cov_lost_reasons, pi_due_counts, pi_due_month_counts)
VILLAGES = [("511403001001", "511403001000"), ("511403001002", "511403001000"), ("511403003001", "511403003000")]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine, trees_for("reporting", SCHEMA))
    try:
        yield engine
    finally:
        await engine.dispose()


def _history(seed: int, persons: int = 12, steps: int = 260) -> list[EventPayload]:
    """Registrations, then visits, plans, items, deliveries, relocations, reassessments, deregistrations."""
    rng = random.Random(seed)
    events: list[EventPayload] = []
    items: list[tuple[str, str, int]] = []
    for n in range(persons):
        village, township = rng.choice(VILLAGES)
        events.append(ev.PersonRegistered(
            person_id=f"p{n}", sealed={}, village_code=village, township_code=township, category=4,
            grade=rng.randint(1, 4), severe=rng.random() < 0.4, hardship=["alone"] if rng.random() < 0.3 else [],
            sex="female", birth_year=1950, registered_on=date(2026, 1, 5)))
    for step in range(steps):
        person = f"p{rng.randrange(persons + 1)}"  # p{persons} was never registered
        year = rng.choice((2025, 2026))
        village, township = rng.choice(VILLAGES)
        kind = rng.randrange(9)
        if kind in (0, 1):
            mode = rng.choice(("home", "phone", "lost_to_follow_up"))
            lost = mode == "lost_to_follow_up"
            events.append(ev.HomeVisitRecorded(person_id=person, visit_id=f"v{step}", year=year,
                                               visited_on=date(year, 3, 1), visitor="s", mode=mode, needs=[],
                                               outcome="lost" if lost else "reached",
                                               lost_reason=rng.choice(("refused", None)) if lost else None,
                                               village_code=village, township_code=township))
        elif kind == 2:
            events.append(ev.PlanDrawn(plan_id=f"plan-{person}-{year}", person_id=person, year=year,
                                       village_code=village, township_code=township))
        elif kind == 3:
            item = f"i{step}"
            items.append((item, person, year))
            due_on = date(year, rng.choice((3, 9)), rng.choice((1, 14, 28)))  # several days a month
            events.append(ev.PlanItemAdded(plan_id=f"plan-{person}-{year}", person_id=person, year=year, item_id=item,
                                           kind="protection", need="medical", responsible_department=rng.choice(
                                               ("health", "civil_affairs")), due_on=due_on))
        elif kind in (4, 5) and items:
            item, owner, item_year = rng.choice(items)
            if kind == 4:
                events.append(ev.PlanItemDelivered(plan_id=f"plan-{owner}-{item_year}", person_id=owner,
                                                   year=item_year, item_id=item, delivered_on=date(2026, 5, 1)))
            else:
                events.append(ev.PlanItemCancelled(plan_id=f"plan-{owner}-{item_year}", person_id=owner,
                                                   year=item_year, item_id=item))
        elif kind == 6:
            events.append(ev.PersonRelocated(person_id=person, from_village_code="?", village_code=village,
                                             township_code=township))
        elif kind == 7:
            grade = rng.randint(1, 4)
            events.append(ev.PersonReassessed(person_id=person, category=3, grade=grade, severe=grade <= 2, sealed={}))
            events.append(ev.HardshipFlagsSet(person_id=person, hardship=["alone"] if rng.random() < 0.5 else []))
        elif rng.random() < 0.3:
            events.append(ev.PersonDeregistered(person_id=person, reason="moved_away", effective_on=date(2026, 6, 1)))
    return events


async def _rows(conn: AsyncConnection, table: Table) -> list[dict[str, Any]]:
    keys = [c.name for c in table.primary_key.columns]
    found = [dict(r._mapping) for r in await conn.execute(select(table))]
    return sorted(found, key=lambda r: tuple(str(r[k]) for k in keys))


def _sorted(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = [c.name for c in table.primary_key.columns]
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_counters_applied_live_equal_the_rebuild_and_a_count_of_the_rows(engine: AsyncEngine,
                                                                               seed: int) -> None:
    models = {p.name: MemoryModel(p.tables) for p in (COVERAGE, PLAN_ITEMS)}
    async with engine.begin() as conn:
        for version, payload in enumerate(_history(seed), start=1):
            envelope = envelope_for(payload, stream_id="s", version=version, time=datetime.now(UTC))
            for projection in (COVERAGE, PLAN_ITEMS):
                if type(payload) in projection.reads:
                    await apply_sql(conn, projection.changes(envelope, payload))
                    models[projection.name].apply(projection.changes(envelope, payload))
        for projection in (COVERAGE, PLAN_ITEMS):  # live == rebuild, every table
            for table in projection.tables:
                live = await _rows(conn, table)
                assert live == _sorted(table, models[projection.name].table_rows(table)), table.name
        live_counters = {t.name: await _rows(conn, t) for t in COUNTERS}
        assert all(live_counters.values())
        by_month: dict[tuple[Any, ...], int] = {}  # the months are the days summed
        for r in live_counters["pi_due_counts"]:
            key = (r["responsible_department"], r["township_code"], r["due_on"].replace(day=1))
            by_month[key] = by_month.get(key, 0) + r["planned"]
        assert {(r["responsible_department"], r["township_code"], r["due_month"]): r["planned"]
                for r in live_counters["pi_due_month_counts"]} == by_month
        await counters.fill(conn)  # the rows counted from scratch, as the migration does
        for table in COUNTERS:
            assert await _rows(conn, table) == live_counters[table.name], table.name


async def test_a_month_counts_the_items_of_all_its_days_and_leaves_with_them(engine: AsyncEngine) -> None:
    village, township = VILLAGES[0]
    events: list[EventPayload] = [ev.PersonRegistered(
        person_id="p", sealed={}, village_code=village, township_code=township, category=4, grade=1, severe=True,
        hardship=[], sex="female", birth_year=1950, registered_on=date(2026, 1, 5))]
    events += [ev.PlanItemAdded(plan_id="plan-p", person_id="p", year=2026, item_id=f"i{day}", kind="protection",
                                need="medical", responsible_department="health", due_on=date(2026, 3, day))
               for day in (1, 14, 31)]
    events.append(ev.PlanItemDelivered(plan_id="plan-p", person_id="p", year=2026, item_id="i14",
                                       delivered_on=date(2026, 3, 10)))
    month_rows = [{"responsible_department": "health", "township_code": township, "due_month": date(2026, 3, 1),
                   "planned": 2}]
    async with engine.begin() as conn:
        for version, payload in enumerate(events, start=1):
            envelope = envelope_for(payload, stream_id="s", version=version, time=datetime.now(UTC))
            await apply_sql(conn, PLAN_ITEMS.changes(envelope, payload))
        assert len(await _rows(conn, pi_due_counts)) == 2
        assert await _rows(conn, pi_due_month_counts) == month_rows
        await counters.fill(conn, (pi_due_month_counts,))  # the migration's recount of the months alone
        assert await _rows(conn, pi_due_month_counts) == month_rows
        gone = ev.PersonDeregistered(person_id="p", reason="moved_away", effective_on=date(2026, 6, 1))
        await apply_sql(conn, PLAN_ITEMS.changes(envelope_for(gone, stream_id="s", version=len(events) + 1,
                                                              time=datetime.now(UTC)), gone))
        assert await _rows(conn, pi_due_month_counts) == []
        assert await _rows(conn, pi_due_counts) == []


def _moves_and_revisits() -> list[EventPayload]:
    """A person visited twice, lost then reached, moved to another township, reassessed and deregistered,
    all of it for persons registered in the same batch and before it."""
    village, township = VILLAGES[0]
    other_village, other_township = VILLAGES[2]
    events: list[EventPayload] = []
    for n in range(3):
        events.append(ev.PersonRegistered(
            person_id=f"m{n}", sealed={}, village_code=village, township_code=township, category=4, grade=2,
            severe=True, hardship=[], sex="female", birth_year=1950, registered_on=date(2026, 1, 5)))
    for n in range(3):
        person = f"m{n}"
        events += [
            ev.HomeVisitRecorded(person_id=person, visit_id=f"{person}-1", year=2026, visited_on=date(2026, 3, 1),
                                 visitor="s", mode="lost_to_follow_up", needs=[], outcome="lost",
                                 lost_reason="refused", village_code=village, township_code=township),
            ev.PlanItemAdded(plan_id=f"plan-{person}", person_id=person, year=2026, item_id=f"{person}-i",
                             kind="protection", need="medical", responsible_department="health",
                             due_on=date(2026, 6, 1)),
            ev.PersonRelocated(person_id=person, from_village_code=village, village_code=other_village,
                               township_code=other_township),
            ev.HomeVisitRecorded(person_id=person, visit_id=f"{person}-2", year=2026, visited_on=date(2026, 4, 1),
                                 visitor="s", mode="home", needs=[], outcome="reached", lost_reason=None,
                                 village_code=other_village, township_code=other_township),
            ev.HomeVisitRecorded(person_id=person, visit_id=f"{person}-3", year=2026, visited_on=date(2026, 4, 2),
                                 visitor="s", mode="home", needs=[], outcome="reached", lost_reason=None,
                                 village_code=other_village, township_code=other_township),
        ]
    events.append(ev.PersonDeregistered(person_id="m2", reason="moved_away", effective_on=date(2026, 6, 1)))
    return events


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_counters_folded_per_batch_equal_those_applied_in_order(engine: AsyncEngine, seed: int) -> None:
    # The live consumer folds a batch (apply_folded): each counter moves once by the sum of its
    # subjects' tally differences. It must end where applying every event in order ends.
    rng = random.Random(seed)
    history = _history(seed) + _moves_and_revisits() + _history(seed + 10, steps=80)
    models = {p.name: MemoryModel(p.tables) for p in (COVERAGE, PLAN_ITEMS)}
    batches: list[list[Any]] = []
    position = 0
    while position < len(history):  # batches of 1 to 60 events, and one holding everything at the end
        size = rng.randint(1, 60) if position < len(history) * 3 // 4 else len(history)
        batches.append(history[position:position + size])
        position += size
    version = 0
    for batch in batches:
        operations: dict[str, list[Any]] = {p.name: [] for p in (COVERAGE, PLAN_ITEMS)}
        for payload in batch:
            version += 1
            envelope = envelope_for(payload, stream_id="s", version=version, time=datetime.now(UTC))
            for projection in (COVERAGE, PLAN_ITEMS):
                if type(payload) in projection.reads:
                    operations[projection.name] += projection.changes(envelope, payload)
                    models[projection.name].apply(projection.changes(envelope, payload))
        async with engine.begin() as conn:
            for projection in (COVERAGE, PLAN_ITEMS):
                await apply_folded(conn, operations[projection.name])
    async with engine.begin() as conn:
        for projection in (COVERAGE, PLAN_ITEMS):
            for table in projection.tables:
                assert await _rows(conn, table) == _sorted(table, models[projection.name].table_rows(table)), \
                    table.name
        live_counters = {t.name: await _rows(conn, t) for t in COUNTERS}
        moved = [r for r in live_counters["cov_counts"] if r["township_code"] == VILLAGES[2][1]]
        assert moved and any(r["lost"] for r in live_counters["cov_lost_reasons"])
        await counters.fill(conn)
        for table in COUNTERS:
            assert await _rows(conn, table) == live_counters[table.name], table.name
