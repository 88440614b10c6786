"""The rehabilitation indicator on the run's database backend: who needs rehabilitation this year,
who received it, rolled up village → township → district against the 80% target."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.reporting.projections.rehabilitation import REHABILITATION, metadata
from services.reporting.queries.rehabilitation import rehabilitation
from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.db import create_engine
from shared.errors import NotFound
from shared.projection import apply_sql
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.integration

YEAR = 2026
DISTRICT, TOWN_A, TOWN_B = "511403000000", "511403001000", "511403003000"
VILLAGE_A1, VILLAGE_A2, VILLAGE_B1 = "511403001001", "511403001002", "511403003001"


def _unit(code: str, level: ev.OrgLevel, parent: str | None) -> ev.OrgUnitEstablished:
    return ev.OrgUnitEstablished(code=code, name=f"u{code[-6:]}", level=level, parent_code=parent)


def _person(pid: str, village: str) -> ev.PersonRegistered:
    return ev.PersonRegistered(person_id=pid, sealed={}, village_code=village, township_code=village[:9] + "000",
                               category=4, grade=2, severe=False, sex="male", birth_year=1970,
                               registered_on=date(2020, 1, 1))


def _visit(pid: str, needs: list[str], mode: str = "home", year: int = YEAR) -> ev.HomeVisitRecorded:
    return ev.HomeVisitRecorded.model_validate({
        "person_id": pid, "visit_id": f"v-{pid}-{mode}-{year}", "year": year, "visited_on": date(year, 2, 1),
        "visitor": "t", "mode": mode, "outcome": "lost" if mode == "lost_to_follow_up" else "reached", "needs": needs,
        "village_code": VILLAGE_A1, "township_code": TOWN_A})


def _item(pid: str, item_id: str, need: str = "rehabilitation", year: int = YEAR) -> ev.PlanItemAdded:
    return ev.PlanItemAdded(plan_id=f"plan-{pid}-{year}", person_id=pid, year=year, item_id=item_id,
                            kind="protection", need=need, responsible_department="health", due_on=date(year, 6, 1))


def _delivered(pid: str, item_id: str, year: int = YEAR) -> ev.PlanItemDelivered:
    return ev.PlanItemDelivered(plan_id=f"plan-{pid}-{year}", person_id=pid, year=year, item_id=item_id,
                                delivered_on=date(year, 3, 1))


EVENTS: list[EventPayload] = [
    _unit(DISTRICT, "district", None), _unit(TOWN_A, "township", DISTRICT), _unit(TOWN_B, "township", DISTRICT),
    _unit(VILLAGE_A1, "village", TOWN_A), _unit(VILLAGE_A2, "village", TOWN_A), _unit(VILLAGE_B1, "village", TOWN_B),
    *[_person(p, v) for p, v in (("a1", VILLAGE_A1), ("a2", VILLAGE_A1), ("a3", VILLAGE_A2), ("b1", VILLAGE_B1),
                                 ("b2", VILLAGE_B1), ("gone", VILLAGE_B1), ("lost", VILLAGE_A1))],
    # in need this year: a1 (received), a2 (item not delivered), a3 (a delivered item for another need only),
    # b1 (received), b2 (received last year only), gone (deregistered: not counted)
    _visit("a1", ["rehabilitation", "employment"]), _item("a1", "i-a1"), _delivered("a1", "i-a1"),
    _visit("a2", ["rehabilitation"]), _item("a2", "i-a2"),
    ev.PlanItemNotDelivered(plan_id=f"plan-a2-{YEAR}", person_id="a2", year=YEAR, item_id="i-a2", reason="refused",
                            closed_on=date(YEAR, 3, 1)),
    _visit("a3", ["rehabilitation"]), _item("a3", "i-a3", need="employment"), _delivered("a3", "i-a3"),
    _visit("b1", ["rehabilitation"]), _item("b1", "i-b1"), _delivered("b1", "i-b1"),
    _visit("b2", ["rehabilitation"]), _item("b2", "i-b2-old", year=YEAR - 1), _delivered("b2", "i-b2-old", YEAR - 1),
    _visit("gone", ["rehabilitation"]),
    ev.PersonDeregistered(person_id="gone", reason="died", effective_on=date(YEAR, 4, 1)),
    # not in need: a lost visit, a visit without the need, last year's need
    _visit("lost", [], mode="lost_to_follow_up"), _visit("a3", ["housing"], mode="phone"),
    _visit("lost", ["rehabilitation"], year=YEAR - 1),
]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        for version, event in enumerate(EVENTS, start=1):
            envelope = envelope_for(event, version=version, time=datetime(YEAR, 4, 1, tzinfo=UTC))
            await apply_sql(conn, REHABILITATION.changes(envelope, event))
    yield engine
    await engine.dispose()


async def test_the_share_in_need_who_received_rehabilitation_rolls_up_with_the_units_below_target(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        district = await rehabilitation(conn, YEAR, None, 2)
    assert (district["with_need"], district["received"], district["rate"], district["target"]) == (5, 2, 0.4, 0.8)
    town_a, town_b = district["children"]
    assert (town_a["with_need"], town_a["received"], town_b["with_need"], town_b["received"]) == (3, 1, 2, 1)
    village_a1, village_a2 = town_a["children"]
    assert (village_a1["with_need"], village_a1["received"], village_a1["rate"]) == (2, 1, 0.5)
    assert village_a2["rate"] == 0.0 and village_a2["meets_target"] is False
    below = [u["code"] for u in district["below_target"]]
    assert below == [DISTRICT, TOWN_A, VILLAGE_A1, VILLAGE_A2, TOWN_B, VILLAGE_B1]


async def test_a_unit_without_anyone_in_need_has_no_rate_and_is_not_below_target(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        other_year = await rehabilitation(conn, YEAR + 1, TOWN_A, 1)
        assert (other_year["with_need"], other_year["rate"], other_year["meets_target"]) == (0, None, None)
        assert other_year["below_target"] == []
        with pytest.raises(NotFound):
            await rehabilitation(conn, YEAR, "511403999000", 0)
