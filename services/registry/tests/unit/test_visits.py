"""Visits as attempts, and their answers checked against the survey form version."""

from datetime import date
from typing import Any

import pytest

from services.registry.domain import person as domain
from services.registry.domain.person import Person, VisitFacts, evolve
from services.registry.domain.survey_form import BUILT_IN
from shared.aggregate import fold
from shared.catalogue import EventPayload, decode_payload
from shared.catalogue.people import HomeVisitRecorded, PersonDeregistered, PersonRegistered, PersonRelocated
from shared.catalogue.surveys import VisitOutcome
from shared.errors import DomainRuleViolated, InvalidInput

pytestmark = pytest.mark.unit

TODAY = date(2025, 6, 1)
VILLAGE, TOWNSHIP = "511403110201", "511403110"

COMPLETE: dict[str, Any] = {
    "housing_status": "own", "household_size": 3, "dilapidated_housing": True, "dilapidated_renovated": False,
    "schooling": "junior", "school_attendance": "not_school_age",
    "employment_status": "unemployed", "wants_job_help": True, "job_help_kind": ["skills_training", "job_referral"],
    "basic_pension": "resident", "pension_subsidy": True, "medical_insurance": "resident",
    "social_assistance": ["subsistence_allowance"], "disability_allowances": ["living", "care"],
    "care_arrangement": "family", "care_service_need": "day_care", "elderly_care_status": "under_60",
    "elderly_parents_carers": True, "family_doctor": False,
    "received_rehabilitation": False, "no_rehabilitation_reason": "distance", "services_received": ["none"],
    "need_rehabilitation": True, "need_assistive_devices": False, "need_education": False, "need_employment": True,
    "need_care": False, "need_barrier_free": True, "need_culture_sports": False, "need_living_subsidy": False,
    "need_housing": True, "what_they_need": "康复训练",
}
"""A complete survey on the built-in version 1."""


def person(*events: EventPayload) -> Person:
    registered = PersonRegistered(person_id="p-1", sealed={}, village_code=VILLAGE, township_code=TOWNSHIP,
                                  category=4, grade=2, severe=True, hardship=[], sex="male", birth_year=1980,
                                  registered_on=date(2025, 1, 10))
    state = fold(evolve, (registered, *events))
    assert state is not None
    return state


def attempt(state: Person, *, visit_id: str = "v-1", on: date = date(2025, 2, 3), mode: str = "home",
            answers: dict[str, Any] | None = None, respondent: str | None = "self", lost_reason: str | None = None,
            needs: list[str] | None = None, complete: bool = True) -> list[EventPayload]:
    facts = VisitFacts(visit_id, on, "staff-9", mode, respondent=respondent, lost_reason=lost_reason)  # type: ignore[arg-type]
    return domain.record_visit(state, facts, form=BUILT_IN, answers=COMPLETE if answers is None else answers,
                               needs=needs or [], complete=complete, seal=lambda a: {"answers": f"sealed:{len(a)}"},
                               today=TODAY)


def lost(state: Person, visit_id: str = "v-lost", on: date = date(2025, 1, 20)) -> list[EventPayload]:
    return attempt(state, visit_id=visit_id, on=on, mode="lost_to_follow_up", answers={}, respondent=None,
                   lost_reason="working_away")


def refused(field: str, **kwargs: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        attempt(person(), **kwargs)
    assert caught.value.field == field, caught.value.message
    return caught.value


def then(state: Person, events: list[EventPayload]) -> Person:
    for event in events:
        state = evolve(state, event)
    return state


# -- a reached visit on the form -------------------------------------------------------------------


def test_a_complete_survey_records_the_needs_its_answers_say_are_still_needed() -> None:
    moved = PersonRelocated(person_id="p-1", from_village_code=VILLAGE, village_code="511403110202",
                            township_code=TOWNSHIP)
    (event,) = attempt(person(moved), needs=["legal_aid"])
    assert isinstance(event, HomeVisitRecorded)
    assert (event.outcome, event.mode, event.respondent, event.lost_reason) == ("reached", "home", "self", None)
    assert (event.form_id, event.form_version, event.year) == ("yearly-survey", 1, 2025)
    assert event.needs == ["barrier_free", "employment", "housing", "legal_aid", "rehabilitation"]
    assert event.sealed_answers == {"answers": f"sealed:{len(COMPLETE)}"}
    assert event.village_code == "511403110202"


@pytest.mark.parametrize(("answers", "field", "says"), [
    pytest.param({**COMPLETE, "favourite_colour": "red"}, "answers.favourite_colour", "unknown item", id="unknown"),
    pytest.param({**COMPLETE, "dilapidated_housing": "yes"}, "answers.dilapidated_housing", "yes or no",
                 id="yesno-not-bool"),
    pytest.param({**COMPLETE, "household_size": "three"}, "answers.household_size", "number", id="number-text"),
    pytest.param({**COMPLETE, "household_size": -1}, "answers.household_size", "negative", id="number-negative"),
    pytest.param({**COMPLETE, "housing_status": "castle"}, "answers.housing_status", "no option 'castle'",
                 id="unknown-option"),
    pytest.param({**COMPLETE, "social_assistance": "subsistence_allowance"}, "answers.social_assistance",
                 "list of option codes", id="multi-not-list"),
    pytest.param({**COMPLETE, "social_assistance": ["temporary", "temporary"]}, "answers.social_assistance",
                 "twice", id="multi-repeated"),
    pytest.param({k: v for k, v in COMPLETE.items() if k != "family_doctor"}, "answers.family_doctor", "required",
                 id="required-missing"),
    pytest.param({**COMPLETE, "what_they_need": "需" * 2001}, "answers.what_they_need", "at most 2000",
                 id="text-too-long"),
    pytest.param({**COMPLETE, "received_rehabilitation": True, "last_rehabilitation_on": "2025-02-30"},
                 "answers.last_rehabilitation_on", "date", id="bad-date"),
])
def test_answers_that_do_not_fit_the_form_are_refused_naming_the_item(
        answers: dict[str, Any], field: str, says: str) -> None:
    assert says in refused(field, answers=answers).message


def test_skip_rules_hide_items_and_a_hidden_item_may_not_be_answered() -> None:
    # Not unemployed: the questions about help to find work are not asked, so not required either.
    employed = {k: v for k, v in COMPLETE.items() if k not in ("wants_job_help", "job_help_kind")}
    (event,) = attempt(person(), answers={**employed, "employment_status": "employed"})
    assert isinstance(event, HomeVisitRecorded)
    (event,) = attempt(person(), answers={**employed, "employment_status": "employed", "wants_job_help": None})
    assert isinstance(event, HomeVisitRecorded)  # null is no answer: a hidden item may be sent empty
    error = refused("answers.wants_job_help", answers={**COMPLETE, "employment_status": "employed"})
    assert "asked only when item employment_status is unemployed or flexible" in error.message
    # A chain: wants_job_help "no" hides job_help_kind.
    refused("answers.job_help_kind", answers={**COMPLETE, "wants_job_help": False})
    # Rehabilitation received: the reason it was not is hidden; not received: the reason is required.
    refused("answers.no_rehabilitation_reason", answers={**COMPLETE, "received_rehabilitation": True})
    without_reason = {k: v for k, v in COMPLETE.items() if k != "no_rehabilitation_reason"}
    refused("answers.no_rehabilitation_reason", answers=without_reason)


def test_a_survey_on_a_form_needs_its_respondent_and_a_reached_visit_has_no_lost_reason() -> None:
    refused("respondent", respondent=None)
    refused("lost_reason", lost_reason="refused")


def test_the_old_body_checks_only_what_it_gives() -> None:
    (event,) = attempt(person(), answers={"what_they_need": "轮椅"}, respondent=None, needs=["assistive_devices"],
                       complete=False)
    assert isinstance(event, HomeVisitRecorded)
    assert (event.outcome, event.needs, event.respondent) == ("reached", ["assistive_devices"], None)


# -- attempts --------------------------------------------------------------------------------------


def test_a_lost_attempt_then_a_reached_one_make_the_year_reached() -> None:
    first = lost(person())
    (event,) = first
    assert isinstance(event, HomeVisitRecorded)
    assert (event.outcome, event.lost_reason, event.needs, event.sealed_answers) == ("lost", "working_away", [], {})
    state = then(person(), first)
    assert (state.attempted_years, state.visited_years) == (frozenset({2025}), frozenset())
    state = then(state, lost(state, visit_id="v-lost-2", on=date(2025, 1, 27)))  # another 失访: allowed
    state = then(state, attempt(state))
    assert (state.attempted_years, state.visited_years) == (frozenset({2025}), frozenset({2025}))
    # A follow-up after a reached visit is allowed too, and a 失访 afterwards undoes nothing.
    state = then(state, attempt(state, visit_id="v-2", on=date(2025, 5, 2)))
    state = then(state, lost(state, visit_id="v-lost-3", on=date(2025, 5, 30)))
    assert state.visited_years == {2025}


def test_a_lost_attempt_needs_its_reason_and_records_no_answers_needs_or_respondent() -> None:
    base: dict[str, Any] = {"mode": "lost_to_follow_up", "answers": {}, "respondent": None}
    assert "needs its reason" in refused("lost_reason", **base).message
    refused("answers.family_doctor", **{**base, "lost_reason": "refused", "answers": {"family_doctor": True}})
    refused("needs", **{**base, "lost_reason": "refused", "needs": ["medical"]})
    refused("respondent", **{**base, "lost_reason": "refused", "respondent": "self"})
    # The old body had no reason: still accepted (reporting counts it as not recorded).
    (event,) = attempt(person(), **{**base, "answers": {"what_they_need": "外出务工"}}, complete=False)
    assert isinstance(event, HomeVisitRecorded) and event.lost_reason is None
    assert event.sealed_answers == {"answers": "sealed:1"}  # its texts, as before, sealed


def test_refused_attempts_the_future_a_retry_an_inactive_person_and_a_later_years_form() -> None:
    refused("visited_on", on=date(2025, 6, 2))
    state = then(person(), attempt(person()))
    with pytest.raises(DomainRuleViolated, match="visit v-1 of person p-1 is already recorded"):
        attempt(state)
    gone = person(PersonDeregistered(person_id="p-1", reason="died", effective_on=date(2025, 3, 1)))
    with pytest.raises(DomainRuleViolated, match="deregistered"):
        attempt(gone)


@pytest.mark.parametrize(("mode", "outcome"), [("home", "reached"), ("phone", "reached"),
                                                ("lost_to_follow_up", "lost")])
def test_a_v1_visit_is_upcast_with_its_outcome_derived_from_its_mode(mode: str, outcome: VisitOutcome) -> None:
    v1 = {"person_id": "p-1", "visit_id": "v", "year": 2024, "visited_on": "2024-03-01", "visitor": "s",
          "mode": mode, "needs": [], "sealed_answers": {"what_they_need": "x"}, "village_code": VILLAGE,
          "township_code": TOWNSHIP}
    event = decode_payload("visit.recorded", 1, v1)
    assert isinstance(event, HomeVisitRecorded)
    assert (event.outcome, event.mode, event.form_id, event.form_version, event.lost_reason) == (
        outcome, mode, "yearly-survey", 1, None)
