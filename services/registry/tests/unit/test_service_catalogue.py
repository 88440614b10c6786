"""The service catalogue and plan proposals: catalogue rules, needs → proposed items, confirming."""

from collections.abc import Callable
from datetime import date

import pytest

from services.registry.domain import plan as plan_domain
from services.registry.domain import proposal
from services.registry.domain import service_catalogue as domain
from services.registry.domain.default_services import DEFAULT_SERVICES
from services.registry.domain.person import Person
from services.registry.domain.plan import ConfirmedItem
from services.registry.domain.service_catalogue import Service, ServiceValues
from services.registry.domain.vocabulary import NEEDS
from shared.aggregate import fold
from shared.catalogue import decode_payload
from shared.catalogue.people import HomeVisitRecorded, PlanDrawn, PlanItemAdded, PlanItemNotDelivered
from shared.catalogue.service_catalogue import ServiceAdded, ServiceChanged, ServiceRetired
from shared.errors import AlreadyExists, DomainRuleViolated, InvalidInput, NotFound

pytestmark = pytest.mark.unit

DEPARTMENTS = {"federation", "health", "hrss", "civil_affairs"}
REHAB = ServiceValues("基本康复服务", "Basic rehabilitation service", "rehabilitation", "protection", "health", 90)
VILLAGE, TOWNSHIP = "511403110201", "511403110000"
PERSON = Person(person_id="p-1", village_code=VILLAGE, township_code=TOWNSHIP, category=4,
                grade=2, severe=True, hardship=(), sex="male", birth_year=1980)


def service(code: str, need: str, part: str = "protection", days: int = 30, retired: bool = False) -> Service:
    return Service(code, f"{code}-zh", f"{code}-en", need, part, "health", days, retired)  # type: ignore[arg-type]


def visit(visit_id: str, visited_on: date, needs: list[str], mode: str = "home") -> HomeVisitRecorded:
    return HomeVisitRecorded.model_validate({
        "person_id": "p-1", "visit_id": visit_id, "year": visited_on.year, "visited_on": visited_on,
        "visitor": "t-1", "mode": mode, "outcome": "lost" if mode == "lost_to_follow_up" else "reached",
        "needs": needs, "village_code": VILLAGE, "township_code": TOWNSHIP})


# --- the catalogue ---------------------------------------------------------------------------------


def test_an_added_service_folds_to_its_entry_and_a_change_replaces_it() -> None:
    events = domain.add(None, "basic_rehabilitation", REHAB, known_departments=DEPARTMENTS)
    assert events == [ServiceAdded(code="basic_rehabilitation", name_zh="基本康复服务",
                                   name_en="Basic rehabilitation service", need="rehabilitation", part="protection",
                                   responsible_department="health", default_days=90)]
    state = fold(domain.evolve, events)
    assert state is not None
    changed = domain.change(state, ServiceValues(**{**REHAB.__dict__, "default_days": 60}),
                            known_departments=DEPARTMENTS)
    assert isinstance(changed[0], ServiceChanged)
    after = domain.evolve(state, changed[0])
    assert after.default_days == 60 and not after.retired


def test_a_code_is_added_once_even_after_retirement() -> None:
    state = fold(domain.evolve, domain.add(None, "x_service", REHAB, known_departments=DEPARTMENTS))
    assert state is not None
    with pytest.raises(AlreadyExists):
        domain.add(state, "x_service", REHAB, known_departments=DEPARTMENTS)
    retired = domain.evolve(state, domain.retire(state, reason="merged")[0])
    assert retired.retired
    with pytest.raises(AlreadyExists):
        domain.add(retired, "x_service", REHAB, known_departments=DEPARTMENTS)
    with pytest.raises(DomainRuleViolated):
        domain.retire(retired, reason="again")
    with pytest.raises(DomainRuleViolated):
        domain.change(retired, REHAB, known_departments=DEPARTMENTS)


@pytest.mark.parametrize(("values", "field"), [
    (ServiceValues("康复", "Rehab", "flying", "protection", "health", 90), "need"),
    (ServiceValues("康复", "Rehab", "rehabilitation", "protection", "police", 90), "responsible_department"),
    (ServiceValues(" ", "Rehab", "rehabilitation", "protection", "health", 90), "name_zh"),
    (ServiceValues("康复", "", "rehabilitation", "protection", "health", 90), "name_en"),
    (ServiceValues("康复", "Rehab", "rehabilitation", "protection", "health", 0), "default_days"),
])
def test_an_entry_with_an_unknown_need_department_or_empty_name_is_refused(values: ServiceValues, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        domain.add(None, "x_service", values, known_departments=DEPARTMENTS)
    assert refused.value.field == field


def test_a_change_that_changes_nothing_is_refused() -> None:
    state = fold(domain.evolve, domain.add(None, "x_service", REHAB, known_departments=DEPARTMENTS))
    assert state is not None
    with pytest.raises(DomainRuleViolated):
        domain.change(state, REHAB, known_departments=DEPARTMENTS)


def test_the_defaults_cover_every_need_but_other_and_are_valid_entries() -> None:
    assert {v.need for v in DEFAULT_SERVICES.values()} == set(NEEDS) - {"other"}
    departments = {v.responsible_department for v in DEFAULT_SERVICES.values()}
    for code, values in DEFAULT_SERVICES.items():
        domain.add(None, code, values, known_departments=departments)  # no refusal
    assert DEFAULT_SERVICES["basic_rehabilitation"].need == "rehabilitation"
    assert {v.part for v in DEFAULT_SERVICES.values()} == {"protection", "income"}


def test_a_retirement_event_decodes_with_its_reason() -> None:
    event = decode_payload("service.retired", 1, {"code": "x_service", "reason": "merged"})
    assert event == ServiceRetired(code="x_service", reason="merged")


# --- proposals -----------------------------------------------------------------------------------


def test_needs_become_items_in_the_two_parts_due_default_days_after_the_visit() -> None:
    services = [service("basic_rehabilitation", "rehabilitation", days=90),
                service("skills_training", "employment", "income", days=180),
                service("employment_support", "employment", "income", days=120),
                service("old_rehab", "rehabilitation", retired=True)]
    result = proposal.propose(["rehabilitation", "employment", "legal_aid", "rehabilitation"], date(2025, 3, 1),
                              services)
    assert [(i.service_code, i.due_on) for i in result.protection] == [("basic_rehabilitation", date(2025, 5, 30))]
    assert [(i.service_code, i.kind, i.due_on) for i in result.income] == [
        ("employment_support", "income", date(2025, 6, 29)), ("skills_training", "income", date(2025, 8, 28))]
    assert result.unanswered_needs == ["legal_aid"]


def test_a_proposal_starts_from_the_years_latest_reached_visit() -> None:
    history = [visit("v-1", date(2025, 2, 1), ["rehabilitation"]),
               visit("v-2", date(2025, 4, 1), [], mode="lost_to_follow_up"),
               visit("v-3", date(2025, 3, 1), ["employment"]),
               visit("v-old", date(2024, 6, 1), ["housing"])]
    assert proposal.reached_visit(history, 2025).visit_id == "v-3"
    assert proposal.reached_visit(history, 2025, "v-1").visit_id == "v-1"
    with pytest.raises(DomainRuleViolated):
        proposal.reached_visit(history, 2025, "v-2")
    with pytest.raises(NotFound):
        proposal.reached_visit(history, 2025, "v-none")
    with pytest.raises(NotFound):
        proposal.reached_visit(history[1:2], 2025)


# --- confirming, and items not delivered ---------------------------------------------------------


def _seal_for(item_id: str) -> plan_domain.Seal:
    return lambda texts: {k: f"sealed[{item_id}]({v})" for k, v in texts.items()}


def _ids() -> Callable[[], str]:
    counter = iter(range(1, 100))
    return lambda: f"i-{next(counter)}"


def test_confirming_draws_the_plan_and_adds_every_item_with_its_service() -> None:
    rehab = service("basic_rehabilitation", "rehabilitation")
    items = [ConfirmedItem("protection", "rehabilitation", "上门康复", "health", date(2025, 6, 1),
                           "basic_rehabilitation"),
             ConfirmedItem("income", "employment", "推荐岗位", "hrss", date(2025, 9, 1))]
    events = plan_domain.confirm_proposal(None, PERSON, year=2025, items=items, services={rehab.code: rehab},
                                          known_departments=DEPARTMENTS, new_item_id=_ids(),
                                          seal_for=_seal_for)
    assert isinstance(events[0], PlanDrawn)
    added = [e for e in events if isinstance(e, PlanItemAdded)]
    assert [(e.item_id, e.service_code, e.sealed) for e in added] == [
        ("i-1", "basic_rehabilitation", {"description": "sealed[i-1](上门康复)"}), ("i-2", None, {"description":
                                                                                         "sealed[i-2](推荐岗位)"})]
    plan = fold(plan_domain.evolve, events)
    assert plan is not None and plan.items["i-1"].service_code == "basic_rehabilitation"


def test_one_bad_item_refuses_the_whole_proposal_naming_it() -> None:
    rehab = service("basic_rehabilitation", "rehabilitation")
    good = ConfirmedItem("protection", "rehabilitation", "上门康复", "health", date(2025, 6, 1), "basic_rehabilitation")
    for bad, field in [
        (ConfirmedItem("protection", "employment", "x", "health", date(2025, 6, 1), "basic_rehabilitation"),
         "items.1.service_code"),
        (ConfirmedItem("protection", "rehabilitation", "x", "health", date(2025, 6, 1), "no_such"),
         "items.1.service_code"),
        (ConfirmedItem("protection", "rehabilitation", "x", "police", date(2025, 6, 1)),
         "items.1.responsible_department"),
        (ConfirmedItem("protection", "rehabilitation", "x", "health", date(2024, 6, 1)), "items.1.due_on"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            plan_domain.confirm_proposal(None, PERSON, year=2025, items=[good, bad], services={rehab.code: rehab},
                                         known_departments=DEPARTMENTS, new_item_id=_ids(),
                                         seal_for=_seal_for)
        assert refused.value.field == field
    with pytest.raises(InvalidInput):
        plan_domain.confirm_proposal(None, PERSON, year=2025, items=[], services={}, known_departments=DEPARTMENTS,
                                     new_item_id=_ids(), seal_for=_seal_for)


def test_an_item_not_delivered_is_closed_with_its_reason_once() -> None:
    events = plan_domain.confirm_proposal(
        None, PERSON, year=2025, items=[ConfirmedItem("protection", "rehabilitation", "康复", "health",
                                                      date(2025, 6, 1))],
        services={}, known_departments=DEPARTMENTS, new_item_id=lambda: "i-1", seal_for=_seal_for)
    plan = fold(plan_domain.evolve, events)
    assert plan is not None and plan_domain.is_overdue(plan.items["i-1"], date(2025, 6, 2))
    closed = plan_domain.record_not_delivered(plan, "i-1", reason="refused", closed_on=date(2025, 6, 2), note="不需要",
                                              today=date(2025, 6, 2), seal=_seal_for("i-1"))
    assert closed == [PlanItemNotDelivered(plan_id=plan.plan_id, person_id="p-1", year=2025, item_id="i-1",
                                           reason="refused", closed_on=date(2025, 6, 2),
                                           sealed={"note": "sealed[i-1](不需要)"})]
    after = plan_domain.evolve(plan, closed[0])
    item = after.items["i-1"]
    assert (item.status, item.not_delivered_reason, item.closed_on) == ("not_delivered", "refused", date(2025, 6, 2))
    assert not plan_domain.is_overdue(item, date(2025, 7, 1))
    with pytest.raises(DomainRuleViolated):
        plan_domain.record_not_delivered(after, "i-1", reason="died", closed_on=date(2025, 6, 2), note="",
                                         today=date(2025, 6, 2), seal=_seal_for("i-1"))
    with pytest.raises(InvalidInput):
        plan_domain.record_not_delivered(plan, "i-1", reason="died", closed_on=date(2025, 6, 3), note="",
                                         today=date(2025, 6, 2), seal=_seal_for("i-1"))


def test_an_item_added_before_v3_is_upcast_without_a_service() -> None:
    v2 = {"plan_id": "plan-p-1-2025", "person_id": "p-1", "year": 2025, "item_id": "i-1", "kind": "protection",
          "need": "rehabilitation", "sealed": {}, "description": "", "responsible_department": "health",
          "due_on": "2025-06-01"}
    v1 = {k: v for k, v in v2.items() if k != "sealed"} | {"description": "康复"}
    for version, data in ((1, v1), (2, v2)):
        event = decode_payload("plan.item_added", version, data)
        assert isinstance(event, PlanItemAdded) and event.service_code is None
