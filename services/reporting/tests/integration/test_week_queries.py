"""The officer's week on the run's database backend: events go through the real projections
(``apply_sql``), then the week's queries list, page and scope them by township and village."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.projections.certificates import CERTIFICATES
from services.reporting.projections.coverage import COVERAGE
from services.reporting.projections.plan_items import PLAN_ITEMS
from services.reporting.projections.rectifications import ledger_entries
from services.reporting.projections.week import WEEK
from services.reporting.queries.week import find_unit, section, week
from services.reporting.read_models import SCHEMA
from shared.catalogue import EventPayload
from shared.catalogue import certificates as cert
from shared.catalogue import people as ev
from shared.db import create_engine
from shared.errors import InvalidInput, NotFound
from shared.projection import apply_sql
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.integration

TODAY = date(2026, 6, 30)
DISTRICT, TOWNSHIP, OTHER = "511403000000", "511403001000", "511403003000"
V1, V2, V3 = "511403001001", "511403001002", "511403003001"


def _person(n: int, village: str, township: str = TOWNSHIP) -> ev.PersonRegistered:
    return ev.PersonRegistered(
        person_id=f"p{n:02d}", sealed={"name": "c"}, village_code=village, township_code=township, category=4,
        grade=1 if n % 3 == 0 else 3, severe=n % 3 == 0, hardship=[], sex="male", birth_year=1960,
        registered_on=date(2026, 1, 2))


def _visit(n: int, on: date, mode: str, village: str = V1) -> ev.HomeVisitRecorded:
    return ev.HomeVisitRecorded(person_id=f"p{n:02d}", visit_id=f"v{n}{on}", year=on.year, visited_on=on,
                                visitor="township-001", mode=mode, needs=[],
                                outcome="lost" if mode == "lost_to_follow_up" else "reached",
                                village_code=village, township_code=TOWNSHIP)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    versions: dict[str, int] = {}
    events: list[EventPayload] = [
        ev.OrgUnitEstablished(code=DISTRICT, name="彭山区", level="district"),
        ev.OrgUnitEstablished(code=TOWNSHIP, name="凤鸣街道", level="township", parent_code=DISTRICT),
        ev.OrgUnitEstablished(code=OTHER, name="青龙街道", level="township", parent_code=DISTRICT),
        ev.OrgUnitEstablished(code=V1, name="一村", level="village", parent_code=TOWNSHIP),
        ev.OrgUnitEstablished(code=V2, name="二村", level="village", parent_code=TOWNSHIP),
        ev.OrgUnitEstablished(code=V3, name="三村", level="village", parent_code=OTHER),
        *(_person(n, V1) for n in range(1, 7)), *(_person(n, V2) for n in range(7, 10)), _person(10, V3, OTHER),
        _visit(1, date(2026, 3, 1), "home"),  # reached
        _visit(2, date(2026, 3, 1), "lost_to_follow_up"),  # lost: try again
        _visit(3, date(2026, 3, 1), "lost_to_follow_up"), _visit(3, date(2026, 4, 1), "phone"),  # lost, then reached
        _visit(4, date(2025, 3, 1), "home"),  # reached last year only: not this year
        ev.PersonDeregistered(person_id="p05", reason="moved_away", effective_on=date(2026, 2, 1)),
        ev.PlanItemAdded(plan_id="plan-6", person_id="p06", year=2026, item_id="due", kind="protection",
                         need="medical", responsible_department="health", due_on=TODAY + timedelta(days=14)),
        ev.PlanItemAdded(plan_id="plan-6", person_id="p06", year=2026, item_id="late", kind="protection",
                         need="medical", responsible_department="health", due_on=TODAY - timedelta(days=3)),
        ev.PlanItemAdded(plan_id="plan-6", person_id="p06", year=2026, item_id="later", kind="protection",
                         need="medical", responsible_department="health", due_on=TODAY + timedelta(days=15)),
        cert.CertificateIssued(person_id="p07", issued_on=date(2022, 1, 1), valid_until=TODAY + timedelta(days=90),
                               village_code=V2, township_code=TOWNSHIP),
        cert.CertificateIssued(person_id="p08", issued_on=date(2022, 1, 1), valid_until=TODAY + timedelta(days=91),
                               village_code=V2, township_code=TOWNSHIP),
    ]
    async with engine.begin() as conn:
        for metadata in SCHEMA:
            await conn.run_sync(metadata.create_all)
        for payload in events:
            stream = str(getattr(payload, "person_id", None) or getattr(payload, "code", "s"))
            versions[stream] = versions.get(stream, 0) + 1
            envelope = envelope_for(payload, stream_id=stream, version=versions[stream], time=datetime.now(UTC))
            for projection in (COVERAGE, WEEK, PLAN_ITEMS, CERTIFICATES):
                if payload.event_type in projection.event_types:
                    await apply_sql(conn, projection.changes(envelope, payload))
        await conn.execute(insert(ledger_entries), [{
            "rectification_id": f"rect-{n}", "number": f"ZG-{n}", "finding_id": f"f{n}", "inspection_id": "i",
            "group_id": "g", "township_code": township, "responsible_unit": "health", "target_kind": "township",
            "target_code": township, "target_name": "t", "problem": "p", "measures": "m",
            "deadline": TODAY - timedelta(days=2), "status": status, "assigned_on": date(2026, 5, 1),
        } for n, township, status in ((1, TOWNSHIP, "assigned"), (2, TOWNSHIP, "closed"), (3, OTHER, "assigned"))])
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_the_township_week_lists_each_kind_of_work_of_its_own_persons(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        unit = await find_unit(conn, TOWNSHIP)
        body = await week(conn, unit, today=TODAY, year=2026, offsets={})
    sections = body["sections"]
    # p01 and p03 are reached, p02 is lost, p05 left the register, p10 lives elsewhere
    assert [r["person_id"] for r in sections["not_reached"]["rows"]] == ["p06", "p09", "p04", "p07", "p08"]
    assert [(r["person_id"], r["lost_count"], r["version"]) for r in sections["lost"]["rows"]] == [("p02", 1, 2)]
    assert [(r["item_id"], r["days_overdue"]) for r in sections["plan_items"]["rows"]] == [("late", 3), ("due", 0)]
    assert [(r["person_id"], r["days_left"]) for r in sections["certificates"]["rows"]] == [("p07", 90)]
    assert [(r["number"], r["days_overdue"]) for r in sections["rectifications"]["rows"]] == [("ZG-1", 2)]
    assert body["unit"]["name"] == "凤鸣街道" and sections["not_reached"]["total"] == 5


async def test_a_village_week_keeps_its_villages_persons_and_its_townships_rectifications(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        unit = await find_unit(conn, V2)
        body = await week(conn, unit, today=TODAY, year=2026, offsets={})
    assert (unit.level, unit.township_code, unit.township_name) == ("village", TOWNSHIP, "凤鸣街道")
    assert [r["person_id"] for r in body["sections"]["not_reached"]["rows"]] == ["p09", "p07", "p08"]
    assert body["sections"]["plan_items"]["total"] == 0 and body["sections"]["certificates"]["total"] == 1
    assert body["sections"]["rectifications"]["total"] == 1


async def test_each_list_is_paged_on_its_own_and_counts_everything(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        unit = await find_unit(conn, TOWNSHIP)
        first = await section(conn, "not_reached", unit, today=TODAY, year=2026, offset=0, limit=2)
        second = await section(conn, "not_reached", unit, today=TODAY, year=2026, offset=2, limit=2)
        last = await section(conn, "not_reached", unit, today=TODAY, year=2026, offset=4, limit=2)
    assert first["total"] == second["total"] == last["total"] == 5
    assert [len(p["rows"]) for p in (first, second, last)] == [2, 2, 1]
    assert len({r["person_id"] for p in (first, second, last) for r in p["rows"]}) == 5


async def test_a_unit_must_be_a_known_township_or_village(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        with pytest.raises(NotFound):
            await find_unit(conn, "511403009000")
        with pytest.raises(InvalidInput) as refused:
            await find_unit(conn, DISTRICT)
    assert refused.value.field == "unit"
