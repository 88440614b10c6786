"""The person aggregate: given events, when a command, then events or a refusal."""

from collections.abc import Callable
from datetime import date

import pytest

from services.registry.domain import person as domain
from services.registry.domain.certificate import (
    Certificate,
    SevereRule,
    make_resident_id,
    validate_certificate_number,
)
from services.registry.domain.person import Person, evolve
from shared.aggregate import fold
from shared.catalogue import EventPayload
from shared.catalogue.people import (
    HardshipFlagsSet,
    HomeVisitRecorded,
    PersonalDataErased,
    PersonCorrected,
    PersonDeregistered,
    PersonReassessed,
    PersonRegistered,
    PersonRelocated,
    PlanDrawn,
)
from shared.errors import DomainRuleViolated, InvalidInput

pytestmark = pytest.mark.unit

TODAY = date(2025, 6, 1)
VILLAGE, TOWNSHIP = "511403110201", "511403110"
OTHER_VILLAGE, OTHER_TOWNSHIP = "511403001203", "511403001"
SEALED = {"name": "sealed-name", "address": "sealed-address"}
NATIONAL = SevereRule()


def certificate(category: int = 4, grade: int = 2, *, sequence: int = 123) -> Certificate:
    """A valid certificate of a person born 1980-05-17 in Pengshan (odd sequence: male)."""
    resident_id = make_resident_id("511403", date(1980, 5, 17), sequence)
    return validate_certificate_number(f"{resident_id}{category}{grade}", today=TODAY)


def registered(**changes: object) -> PersonRegistered:
    """The registration event of person p-1, with ``changes``."""
    fields: dict[str, object] = {
        "person_id": "p-1", "sealed": SEALED, "village_code": VILLAGE,
        "township_code": TOWNSHIP, "category": 4, "grade": 2, "severe": True, "hardship": [],
        "sex": "male", "birth_year": 1980, "registered_on": date(2025, 1, 10),
    }
    return PersonRegistered.model_validate({**fields, **changes})


DEREGISTERED = PersonDeregistered(person_id="p-1", reason="died", effective_on=date(2025, 3, 1))
ERASED = PersonalDataErased(person_id="p-1")


def given(*events: EventPayload) -> Person:
    """The state of person p-1 after ``events`` (registered first unless the events say otherwise)."""
    history = events if events and isinstance(events[0], PersonRegistered) else (registered(), *events)
    state = fold(evolve, history)
    assert state is not None
    return state


def then(state: Person, new_events: list[EventPayload]) -> Person:
    """The state once the command's events are applied."""
    for event in new_events:
        state = evolve(state, event)
    return state


def visit(person: Person, *, on: date = date(2025, 2, 3), mode: str = "home",
          needs: list[str] | None = None) -> list[EventPayload]:
    return domain.record_visit(person, visit_id="v-1", visited_on=on, visitor="staff-9", mode=mode,  # type: ignore[arg-type]
                               needs=["rehabilitation"] if needs is None else needs, sealed_answers={}, today=TODAY)


# -- register ------------------------------------------------------------------------------------


def test_register_derives_the_facts_reporting_needs_from_the_certificate() -> None:
    events = domain.register(
        person_id="p-1", certificate=certificate(4, 2), sealed=SEALED,
        village_code=VILLAGE, township_code=TOWNSHIP, hardship=["living_alone", "extreme_poverty", "living_alone"],
        severe_rule=NATIONAL, registered_on=date(2025, 1, 10),
    )
    assert events == [registered(hardship=["extreme_poverty", "living_alone"])]
    state = given(*events)
    assert (state.active, state.erased, state.hardship, state.visited_years) == (
        True, False, ("extreme_poverty", "living_alone"), frozenset())


@pytest.mark.parametrize(
    ("category", "grade", "rule", "severe"),
    [
        pytest.param(4, 1, NATIONAL, True, id="grade-1"),
        pytest.param(4, 2, NATIONAL, True, id="grade-2"),
        pytest.param(4, 3, NATIONAL, False, id="grade-3"),
        pytest.param(5, 4, SevereRule(also_categories_any_grade=frozenset({5, 6})), True, id="local-intellectual"),
        pytest.param(4, 4, SevereRule(also_categories_any_grade=frozenset({5, 6})), False, id="local-physical"),
    ],
)
def test_register_applies_the_configured_severe_rule(category: int, grade: int, rule: SevereRule, severe: bool) -> None:
    (event,) = domain.register(
        person_id="p-1", certificate=certificate(category, grade), sealed={},
        village_code=VILLAGE, township_code=TOWNSHIP, hardship=[], severe_rule=rule, registered_on=TODAY,
    )
    assert isinstance(event, PersonRegistered)
    assert (event.category, event.grade, event.severe) == (category, grade, severe)


def test_register_takes_sex_from_the_sequence_parity() -> None:
    (event,) = domain.register(
        person_id="p-2", certificate=certificate(sequence=124), sealed={},
        village_code=VILLAGE, township_code=TOWNSHIP, hardship=[], severe_rule=NATIONAL, registered_on=TODAY,
    )
    assert isinstance(event, PersonRegistered) and event.sex == "female"


def test_register_refuses_an_unknown_hardship_flag() -> None:
    with pytest.raises(InvalidInput, match=r"unknown hardship flag.*rich") as caught:
        domain.register(
            person_id="p-1", certificate=certificate(), sealed={}, village_code=VILLAGE,
            township_code=TOWNSHIP, hardship=["rich"], severe_rule=NATIONAL, registered_on=TODAY,
        )
    assert caught.value.field == "hardship"


# -- commands refused for a person who left the register or was erased --------------------------

COMMANDS: dict[str, Callable[[Person], list[EventPayload]]] = {
    "correct": lambda p: domain.correct(p, sealed=SEALED, fields=["name"]),
    "relocate": lambda p: domain.relocate(p, village_code=OTHER_VILLAGE, township_code=OTHER_TOWNSHIP, sealed={}),
    "reassess": lambda p: domain.reassess(p, certificate=certificate(4, 3), sealed={},
                                          severe_rule=NATIONAL),
    "set_hardship": lambda p: domain.set_hardship(p, ["living_alone"]),
    "deregister": lambda p: domain.deregister(p, reason="moved_away", effective_on=TODAY),
    "record_visit": visit,
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_is_refused_once_deregistered(command: Callable[[Person], list[EventPayload]]) -> None:
    with pytest.raises(DomainRuleViolated, match=r"person p-1 is deregistered \(died\)"):
        command(given(DEREGISTERED))


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_is_refused_once_personal_data_is_erased(command: Callable[[Person], list[EventPayload]]) -> None:
    with pytest.raises(DomainRuleViolated, match="personal data was erased"):
        command(given(ERASED))


# -- correct, relocate, reassess -----------------------------------------------------------------


def test_correct_records_the_sealed_fields_and_changes_no_fact() -> None:
    person = given()
    events = domain.correct(person, sealed={"name": "new-sealed-name"}, fields=["name"])
    assert events == [PersonCorrected(person_id="p-1", sealed={"name": "new-sealed-name"}, fields=["name"])]
    assert then(person, events) == person


def test_correct_refuses_an_empty_correction() -> None:
    with pytest.raises(InvalidInput, match="nothing to correct"):
        domain.correct(given(), sealed={}, fields=[])


def test_relocate_moves_the_person_and_remembers_where_from() -> None:
    person = given()
    events = domain.relocate(person, village_code=OTHER_VILLAGE, township_code=OTHER_TOWNSHIP, sealed=SEALED)
    assert events == [PersonRelocated(person_id="p-1", from_village_code=VILLAGE, village_code=OTHER_VILLAGE,
                                      township_code=OTHER_TOWNSHIP, sealed=SEALED)]
    moved = then(person, events)
    assert (moved.village_code, moved.township_code) == (OTHER_VILLAGE, OTHER_TOWNSHIP)


def test_relocate_refuses_the_village_the_person_lives_in() -> None:
    with pytest.raises(DomainRuleViolated, match=f"already lives in village {VILLAGE}"):
        domain.relocate(given(), village_code=VILLAGE, township_code=TOWNSHIP, sealed={})


def test_reassess_records_the_new_category_grade_and_severity() -> None:
    person = given()
    events = domain.reassess(person, certificate=certificate(6, 3), sealed={"c": "x"},
                             severe_rule=NATIONAL)
    assert events == [PersonReassessed(person_id="p-1", category=6, grade=3, severe=False,
                                       sealed={"c": "x"})]
    after = then(person, events)
    assert (after.category, after.grade, after.severe) == (6, 3, False)


def test_reassess_refuses_an_unchanged_assessment() -> None:
    with pytest.raises(DomainRuleViolated, match="already category 4, grade 2"):
        domain.reassess(given(), certificate=certificate(4, 2), sealed={},
                        severe_rule=NATIONAL)


# -- hardship, deregistration, erasure -----------------------------------------------------------


def test_set_hardship_replaces_the_flags_sorted_and_deduplicated() -> None:
    person = given()
    events = domain.set_hardship(person, ["subsistence_allowance", "elderly_carer", "elderly_carer"])
    assert events == [HardshipFlagsSet(person_id="p-1", hardship=["elderly_carer", "subsistence_allowance"])]
    assert then(person, events).hardship == ("elderly_carer", "subsistence_allowance")
    cleared = domain.set_hardship(then(person, events), [])
    assert cleared == [HardshipFlagsSet(person_id="p-1", hardship=[])]


def test_set_hardship_to_the_same_flags_records_nothing() -> None:
    person = given(HardshipFlagsSet(person_id="p-1", hardship=["elderly_carer", "living_alone"]))
    assert domain.set_hardship(person, ["living_alone", "elderly_carer", "living_alone"]) == []


def test_set_hardship_refuses_an_unknown_flag() -> None:
    with pytest.raises(InvalidInput, match="unknown hardship flag") as caught:
        domain.set_hardship(given(), ["living_alone", "unlucky"])
    assert caught.value.field == "hardship"


def test_deregister_takes_the_person_off_the_register() -> None:
    person = given()
    events = domain.deregister(person, reason="certificate_revoked", effective_on=TODAY)
    assert events == [PersonDeregistered(person_id="p-1", reason="certificate_revoked", effective_on=TODAY)]
    after = then(person, events)
    assert (after.active, after.deregistration_reason) == (False, "certificate_revoked")


@pytest.mark.parametrize("history", [(), (DEREGISTERED,)], ids=["active", "deregistered"])
def test_erase_personal_data_is_allowed_once(history: tuple[EventPayload, ...]) -> None:
    person = given(*history)
    events = domain.erase_personal_data(person)
    assert events == [ERASED]
    with pytest.raises(DomainRuleViolated, match="already erased"):
        domain.erase_personal_data(then(person, events))


# -- home visits ---------------------------------------------------------------------------------


def test_record_visit_records_the_year_needs_and_the_current_village() -> None:
    person = given(PersonRelocated(person_id="p-1", from_village_code=VILLAGE, village_code=OTHER_VILLAGE,
                                   township_code=OTHER_TOWNSHIP))
    events = domain.record_visit(person, visit_id="v-1", visited_on=date(2025, 2, 3), visitor="staff-9",
                                 mode="home", needs=["medical", "assistive_devices", "medical"],
                                 sealed_answers={"answers": "sealed"}, today=TODAY)
    assert events == [HomeVisitRecorded(
        person_id="p-1", visit_id="v-1", year=2025, visited_on=date(2025, 2, 3), visitor="staff-9", mode="home",
        needs=["assistive_devices", "medical"], sealed_answers={"answers": "sealed"},
        village_code=OTHER_VILLAGE, township_code=OTHER_TOWNSHIP)]
    assert then(person, events).visited_years == {2025}


def test_record_visit_allows_today_and_refuses_the_future() -> None:
    assert visit(given(), on=TODAY)
    with pytest.raises(InvalidInput, match="2025-06-02 is in the future") as caught:
        visit(given(), on=date(2025, 6, 2))
    assert caught.value.field == "visited_on"


def test_record_visit_allows_one_visit_per_year() -> None:
    person = then(given(), visit(given(), on=date(2024, 1, 15)))
    with pytest.raises(DomainRuleViolated, match="already has a home visit for 2024"):
        visit(person, on=date(2024, 12, 1))
    assert then(person, visit(person, on=date(2025, 1, 20))).visited_years == {2024, 2025}


def test_record_visit_refuses_unknown_needs() -> None:
    with pytest.raises(InvalidInput, match=r"unknown need code.*wishes") as caught:
        visit(given(), needs=["medical", "wishes"])
    assert caught.value.field == "needs"


def test_a_visit_lost_to_follow_up_records_no_needs() -> None:
    with pytest.raises(InvalidInput, match="lost to follow-up") as caught:
        visit(given(), mode="lost_to_follow_up", needs=["medical"])
    assert caught.value.field == "needs"
    (event,) = visit(given(), mode="lost_to_follow_up", needs=[])
    assert isinstance(event, HomeVisitRecorded) and event.mode == "lost_to_follow_up"


def test_a_visit_lost_to_follow_up_leaves_the_year_open_for_another_try() -> None:
    (lost,) = visit(given(), mode="lost_to_follow_up", needs=[])
    (reached,) = visit(given(lost), mode="home")  # the officer tries again the same year
    with pytest.raises(DomainRuleViolated, match="already has a home visit"):
        visit(given(lost, reached))


def test_a_person_stream_holds_only_person_events() -> None:
    plan = PlanDrawn(plan_id="plan-p-1-2025", person_id="p-1", year=2025, village_code=VILLAGE,
                     township_code=TOWNSHIP)
    with pytest.raises(TypeError, match="cannot hold PlanDrawn"):
        evolve(given(), plan)
