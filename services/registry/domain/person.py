"""The person aggregate: a registered person with a disability, their home visits.

Pure: commands are functions of (current state, validated input) returning new events;
``evolve`` folds events into state. Personal data arrives here already sealed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import singledispatch

from services.registry.domain.certificate import Certificate, SevereRule
from services.registry.domain.vocabulary import HARDSHIP_FLAGS, NEEDS, unknown_codes
from shared.catalogue import EventPayload
from shared.catalogue.people import (
    DeregistrationReason,
    HardshipFlagsSet,
    HomeVisitRecorded,
    PersonalDataErased,
    PersonCorrected,
    PersonDeregistered,
    PersonReassessed,
    PersonRegistered,
    PersonRelocated,
    Sealed,
    VisitMode,
)
from shared.errors import DomainRuleViolated, InvalidInput


@dataclass(frozen=True)
class Person:
    """A person's state as folded from their stream."""

    person_id: str
    village_code: str
    township_code: str
    category: int
    grade: int
    severe: bool
    hardship: tuple[str, ...]
    sex: str
    birth_year: int
    active: bool = True
    erased: bool = False
    deregistration_reason: str | None = None
    visited_years: frozenset[int] = frozenset()


def evolve(state: Person | None, event: EventPayload) -> Person:
    """Apply one event to a person's state."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: Person | None) -> Person:
    raise TypeError(f"a person stream cannot hold {type(event).__name__}")


@_apply.register
def _(event: PersonRegistered, state: Person | None) -> Person:
    return Person(
        person_id=event.person_id,
        village_code=event.village_code,
        township_code=event.township_code,
        category=event.category,
        grade=event.grade,
        severe=event.severe,
        hardship=tuple(event.hardship),
        sex=event.sex,
        birth_year=event.birth_year,
    )


@_apply.register
def _(event: PersonCorrected, state: Person) -> Person:
    return state


@_apply.register
def _(event: PersonRelocated, state: Person) -> Person:
    return replace(state, village_code=event.village_code, township_code=event.township_code)


@_apply.register
def _(event: PersonReassessed, state: Person) -> Person:
    return replace(state, category=event.category, grade=event.grade, severe=event.severe)


@_apply.register
def _(event: HardshipFlagsSet, state: Person) -> Person:
    return replace(state, hardship=tuple(event.hardship))


@_apply.register
def _(event: PersonDeregistered, state: Person) -> Person:
    return replace(state, active=False, deregistration_reason=event.reason)


@_apply.register
def _(event: PersonalDataErased, state: Person) -> Person:
    return replace(state, erased=True)


@_apply.register
def _(event: HomeVisitRecorded, state: Person) -> Person:
    # A visit lost to follow-up (失访) reached nobody: the officer tries again, so it does not use up the year.
    if event.mode == "lost_to_follow_up":
        return state
    return replace(state, visited_years=state.visited_years | {event.year})


def check_hardship(flags: list[str]) -> list[str]:
    """Validated, de-duplicated hardship flags in a stable order."""
    unknown = unknown_codes(flags, HARDSHIP_FLAGS)
    if unknown:
        raise InvalidInput(
            f"unknown hardship flag(s) {', '.join(unknown)}; known: {', '.join(HARDSHIP_FLAGS)}",
            field="hardship",
        )
    return sorted(set(flags))


def register(
    *,
    person_id: str,
    certificate: Certificate,
    sealed: Sealed,
    village_code: str,
    township_code: str,
    hardship: list[str],
    severe_rule: SevereRule,
    registered_on: date,
) -> list[EventPayload]:
    """Register a new person (uniqueness of the certificate is checked by the caller's index)."""
    return [
        PersonRegistered(
            person_id=person_id,
            sealed=sealed,
            village_code=village_code,
            township_code=township_code,
            category=int(certificate.category),
            grade=certificate.grade,
            severe=severe_rule.is_severe(int(certificate.category), certificate.grade),
            hardship=check_hardship(hardship),
            sex=certificate.resident_id.sex,
            birth_year=certificate.resident_id.birth_date.year,
            registered_on=registered_on,
        )
    ]


def _require_active(person: Person, action: str) -> None:
    if not person.active:
        raise DomainRuleViolated(
            f"cannot {action}: person {person.person_id} is deregistered ({person.deregistration_reason})"
        )
    if person.erased:
        raise DomainRuleViolated(f"cannot {action}: person {person.person_id}'s personal data was erased")


def correct(person: Person, *, sealed: Sealed, fields: list[str]) -> list[EventPayload]:
    """Correct name and/or address."""
    _require_active(person, "correct personal details")
    if not fields:
        raise InvalidInput("nothing to correct: give a name or an address")
    return [PersonCorrected(person_id=person.person_id, sealed=sealed, fields=fields)]


def relocate(person: Person, *, village_code: str, township_code: str, sealed: Sealed) -> list[EventPayload]:
    """Move a person to another village."""
    _require_active(person, "relocate")
    if village_code == person.village_code:
        raise DomainRuleViolated(f"person {person.person_id} already lives in village {village_code}")
    return [
        PersonRelocated(
            person_id=person.person_id,
            from_village_code=person.village_code,
            village_code=village_code,
            township_code=township_code,
            sealed=sealed,
        )
    ]


def reassess(
    person: Person,
    *,
    certificate: Certificate,
    sealed: Sealed,
    severe_rule: SevereRule,
) -> list[EventPayload]:
    """Record a new assessment: same resident ID, new category and/or grade."""
    _require_active(person, "re-assess")
    category, grade = int(certificate.category), certificate.grade
    if (category, grade) == (person.category, person.grade):
        raise DomainRuleViolated(
            f"person {person.person_id} is already category {category}, grade {grade}: nothing changed"
        )
    return [
        PersonReassessed(
            person_id=person.person_id,
            category=category,
            grade=grade,
            severe=severe_rule.is_severe(category, grade),
            sealed=sealed,
        )
    ]


def set_hardship(person: Person, flags: list[str]) -> list[EventPayload]:
    """Replace the hardship flags."""
    _require_active(person, "set hardship flags")
    checked = check_hardship(flags)
    if tuple(checked) == person.hardship:
        return []
    return [HardshipFlagsSet(person_id=person.person_id, hardship=checked)]


def deregister(person: Person, *, reason: DeregistrationReason, effective_on: date) -> list[EventPayload]:
    """Take a person off the register."""
    _require_active(person, "deregister")
    return [PersonDeregistered(person_id=person.person_id, reason=reason, effective_on=effective_on)]


def erase_personal_data(person: Person) -> list[EventPayload]:
    """Record that the person's key is destroyed (the caller destroys it in the same transaction)."""
    if person.erased:
        raise DomainRuleViolated(f"person {person.person_id}'s personal data is already erased")
    return [PersonalDataErased(person_id=person.person_id)]


def record_visit(
    person: Person,
    *,
    visit_id: str,
    visited_on: date,
    visitor: str,
    mode: VisitMode,
    needs: list[str],
    sealed_answers: Sealed,
    today: date,
) -> list[EventPayload]:
    """Record the year's home visit: one per person per year (a 失访 does not count), not in the future."""
    _require_active(person, "record a home visit")
    if visited_on > today:
        raise InvalidInput(f"visit date {visited_on} is in the future", field="visited_on")
    year = visited_on.year
    if year in person.visited_years:
        raise DomainRuleViolated(f"person {person.person_id} already has a home visit for {year}")
    unknown = unknown_codes(needs, NEEDS)
    if unknown:
        raise InvalidInput(f"unknown need code(s) {', '.join(unknown)}; known: {', '.join(NEEDS)}", field="needs")
    if mode == "lost_to_follow_up" and needs:
        raise InvalidInput("a visit lost to follow-up (失访) cannot record needs", field="needs")
    return [
        HomeVisitRecorded(
            person_id=person.person_id,
            visit_id=visit_id,
            year=year,
            visited_on=visited_on,
            visitor=visitor,
            mode=mode,
            needs=sorted(set(needs)),
            sealed_answers=sealed_answers,
            village_code=person.village_code,
            township_code=person.township_code,
        )
    ]
