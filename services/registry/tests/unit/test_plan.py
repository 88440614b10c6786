"""The personal plan (一人一策): given events, when a command, then events or a refusal."""

from dataclasses import replace
from datetime import date

import pytest

from services.registry.domain import plan as domain
from services.registry.domain.person import Person
from services.registry.domain.plan import Plan, PlanItem, evolve, plan_stream_id
from shared.aggregate import fold
from shared.catalogue import EventPayload
from shared.catalogue.people import (
    HardshipFlagsSet,
    PlanDrawn,
    PlanItemAdded,
    PlanItemCancelled,
    PlanItemDelivered,
)
from shared.errors import DomainRuleViolated, InvalidInput, NotFound

pytestmark = pytest.mark.unit

TODAY = date(2025, 6, 1)
VILLAGE, TOWNSHIP = "511403110201", "511403110"
PLAN_ID = "plan-p-1-2025"
DEPARTMENTS = {"federation", "civil_affairs", "health"}
PERSON = Person(person_id="p-1", village_code=VILLAGE, township_code=TOWNSHIP, category=4,
                grade=2, severe=True, hardship=(), sex="male", birth_year=1980)

def seal(texts: dict[str, str]) -> dict[str, str]:
    """Stands in for the person's key: what the domain hands it is what the event carries."""
    return {name: f"sealed({text})" for name, text in texts.items()}


DRAWN = PlanDrawn(plan_id=PLAN_ID, person_id="p-1", year=2025, village_code=VILLAGE, township_code=TOWNSHIP)


def item_added(item_id: str = "i-1", **changes: object) -> PlanItemAdded:
    """An item of p-1's 2025 plan, with ``changes``."""
    fields: dict[str, object] = {
        "plan_id": PLAN_ID, "person_id": "p-1", "year": 2025, "item_id": item_id, "kind": "protection",
        "need": "rehabilitation", "sealed": {"description": "sealed(home rehabilitation training)"},
        "responsible_department": "health", "due_on": date(2025, 9, 30),
    }
    return PlanItemAdded.model_validate({**fields, **changes})


def delivered(item_id: str = "i-1") -> PlanItemDelivered:
    return PlanItemDelivered(plan_id=PLAN_ID, person_id="p-1", year=2025, item_id=item_id,
                             delivered_on=date(2025, 5, 2), sealed={"note": "sealed(on time)"})


def cancelled(item_id: str = "i-1") -> PlanItemCancelled:
    return PlanItemCancelled(plan_id=PLAN_ID, person_id="p-1", year=2025, item_id=item_id,
                             sealed={"cancel_reason": "sealed(moved)"})


def given(*events: EventPayload) -> Plan:
    """p-1's 2025 plan after being drawn and then ``events``."""
    state = fold(evolve, (DRAWN, *events))
    assert state is not None
    return state


def then(plan: Plan, new_events: list[EventPayload]) -> Plan:
    for event in new_events:
        plan = evolve(plan, event)
    return plan


def add(plan: Plan, **changes: object) -> list[EventPayload]:
    arguments: dict[str, object] = {
        "item_id": "i-1", "kind": "protection", "need": "rehabilitation",
        "description": "  home rehabilitation training ", "responsible_department": "health",
        "due_on": date(2025, 9, 30), "known_departments": DEPARTMENTS, "seal": seal,
    }
    return domain.add_item(plan, **{**arguments, **changes})  # type: ignore[arg-type]


def test_one_plan_per_person_and_year_names_its_stream() -> None:
    assert plan_stream_id("p-1", 2025) == PLAN_ID


# -- draw ----------------------------------------------------------------------------------------


def test_draw_opens_the_plan_where_the_person_lives() -> None:
    events = domain.draw(None, PERSON, year=2025)
    assert events == [DRAWN]
    assert then(given(), []) == Plan(PLAN_ID, "p-1", 2025, VILLAGE, TOWNSHIP, {})


def test_draw_refuses_a_second_plan_for_the_year() -> None:
    with pytest.raises(DomainRuleViolated, match="already has a plan for 2025"):
        domain.draw(given(), PERSON, year=2025)


def test_draw_refuses_a_deregistered_person() -> None:
    with pytest.raises(DomainRuleViolated, match="deregistered: no new plan"):
        domain.draw(None, replace(PERSON, active=False, deregistration_reason="died"), year=2025)


@pytest.mark.parametrize(("year", "allowed"), [(1999, False), (2000, True), (2100, True), (2101, False)])
def test_draw_accepts_years_2000_to_2100(year: int, allowed: bool) -> None:
    if allowed:
        assert domain.draw(None, PERSON, year=year)
        return
    with pytest.raises(InvalidInput, match=f"year {year} is out of range") as caught:
        domain.draw(None, PERSON, year=year)
    assert caught.value.field == "year"


# -- add_item ------------------------------------------------------------------------------------


def test_add_item_records_the_measure_with_its_department_and_due_date() -> None:
    plan = given()
    events = add(plan)
    assert events == [item_added()]
    assert then(plan, events).items == {"i-1": PlanItem(
        "i-1", "protection", "rehabilitation", "health", date(2025, 9, 30),
        sealed={"description": "sealed(home rehabilitation training)"})}


def test_an_item_added_before_texts_were_sealed_keeps_its_clear_text_apart() -> None:
    """A v1 event (clear description) upcasts to v2 with nothing sealed; the text stays legacy."""
    old = PlanItemAdded.model_validate({**item_added().model_dump(exclude={"sealed"}), "sealed": {},
                                         "description": "old clear text"})
    item = given(old).items["i-1"]
    assert (dict(item.sealed), dict(item.legacy)) == ({}, {"description": "old clear text"})


def test_add_item_accepts_an_income_measure_due_the_next_year() -> None:
    events = add(given(), item_id="i-2", kind="income", need="employment", due_on=date(2026, 3, 31))
    assert events == [item_added("i-2", kind="income", need="employment", due_on=date(2026, 3, 31))]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param({"need": "luck"}, "need", "unknown need code 'luck'", id="unknown-need"),
        pytest.param({"responsible_department": "army"}, "responsible_department", "unknown department 'army'",
                     id="unknown-department"),
        pytest.param({"description": "   "}, "description", "needs a description", id="blank-description"),
        pytest.param({"due_on": date(2024, 12, 31)}, "due_on", "is before the plan's year 2025", id="due-too-early"),
    ],
)
def test_add_item_refuses_invalid_input(changes: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        add(given(), **changes)
    assert caught.value.field == field


# -- deliver_item --------------------------------------------------------------------------------


def test_deliver_item_marks_it_delivered_on_a_date() -> None:
    plan = given(item_added())
    events = domain.deliver_item(plan, "i-1", delivered_on=date(2025, 5, 2), note=" on time ", today=TODAY, seal=seal)
    assert events == [delivered()]
    item = then(plan, events).items["i-1"]
    assert (item.status, item.delivered_on, item.sealed["note"]) == ("delivered", date(2025, 5, 2), "sealed(on time)")


def test_deliver_item_without_a_note_seals_nothing() -> None:
    def no_key(texts: dict[str, str]) -> dict[str, str]:
        raise AssertionError("an empty note needs no key")
    events = domain.deliver_item(given(item_added()), "i-1", delivered_on=TODAY, note=" ", today=TODAY, seal=no_key)
    assert events == [delivered().model_copy(update={"delivered_on": TODAY, "sealed": {}})]


def test_deliver_item_allows_today_and_refuses_the_future() -> None:
    plan = given(item_added())
    assert domain.deliver_item(plan, "i-1", delivered_on=TODAY, note="on time", today=TODAY, seal=seal)
    with pytest.raises(InvalidInput, match="is in the future") as caught:
        domain.deliver_item(plan, "i-1", delivered_on=date(2025, 6, 2), note="", today=TODAY, seal=seal)
    assert caught.value.field == "delivered_on"


@pytest.mark.parametrize(("history", "status"), [((delivered(),), "delivered"), ((cancelled(),), "cancelled")])
def test_deliver_item_refuses_an_item_no_longer_planned(history: tuple[EventPayload, ...], status: str) -> None:
    with pytest.raises(DomainRuleViolated, match=f"item i-1 is already {status}"):
        domain.deliver_item(given(item_added(), *history), "i-1", delivered_on=TODAY, note="", today=TODAY, seal=seal)


def test_deliver_item_refuses_an_unknown_item() -> None:
    with pytest.raises(NotFound, match=f"plan {PLAN_ID} has no item i-9"):
        domain.deliver_item(given(item_added()), "i-9", delivered_on=TODAY, note="", today=TODAY, seal=seal)


# -- cancel_item ---------------------------------------------------------------------------------


def test_cancel_item_records_the_reason() -> None:
    plan = given(item_added(), item_added("i-2"))
    events = domain.cancel_item(plan, "i-1", reason="  moved  ", seal=seal)
    assert events == [cancelled()]
    after = then(plan, events)
    assert (after.items["i-1"].status, after.items["i-1"].sealed["cancel_reason"]) == ("cancelled", "sealed(moved)")
    assert after.items["i-2"].status == "planned"


def test_cancel_item_needs_a_reason() -> None:
    with pytest.raises(InvalidInput, match="needs a reason") as caught:
        domain.cancel_item(given(item_added()), "i-1", reason=" ", seal=seal)
    assert caught.value.field == "reason"


@pytest.mark.parametrize(("history", "status"), [((delivered(),), "delivered"), ((cancelled(),), "cancelled")])
def test_cancel_item_refuses_an_item_no_longer_planned(history: tuple[EventPayload, ...], status: str) -> None:
    with pytest.raises(DomainRuleViolated, match=f"item i-1 is already {status}"):
        domain.cancel_item(given(item_added(), *history), "i-1", reason="changed", seal=seal)


def test_cancel_item_refuses_an_unknown_item() -> None:
    with pytest.raises(NotFound, match="has no item i-9"):
        domain.cancel_item(given(), "i-9", reason="changed", seal=seal)


def test_a_plan_stream_holds_only_plan_events() -> None:
    with pytest.raises(TypeError, match="cannot hold HardshipFlagsSet"):
        evolve(given(), HardshipFlagsSet(person_id="p-1", hardship=[]))
