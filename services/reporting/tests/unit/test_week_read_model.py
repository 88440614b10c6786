"""The officer's week read model, applied in memory: reached versus 失访, and the person's version."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.reporting.projections.week import WEEK, wk_persons, wk_visits
from services.reporting.queries.week import Unit, require_unit
from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.errors import Forbidden
from shared.projection import MemoryModel
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.unit

PERSON = "01a226a0-0000-7000-8000-00000000abcd"
TOWNSHIP, VILLAGE = "511403001000", "511403001001"
REGISTERED = ev.PersonRegistered(
    person_id=PERSON, sealed={"name": "ciphertext"}, village_code=VILLAGE, township_code=TOWNSHIP, category=4,
    grade=1, severe=True, hardship=["living_alone"], sex="female", birth_year=1950, registered_on=date(2026, 1, 5))


def _visit(on: date, mode: str) -> ev.HomeVisitRecorded:
    return ev.HomeVisitRecorded(person_id=PERSON, visit_id=f"v-{on}-{mode}", year=on.year, visited_on=on,
                                visitor="township-001", mode=mode, needs=[],
                                outcome="lost" if mode == "lost_to_follow_up" else "reached",
                                village_code=VILLAGE, township_code=TOWNSHIP)


def _apply(*events: EventPayload) -> MemoryModel:
    model = MemoryModel(WEEK.tables)
    for version, payload in enumerate(events, start=1):
        envelope = envelope_for(payload, stream_id=PERSON, version=version, time=datetime.now(UTC))
        model.apply(WEEK.changes(envelope, payload))
    return model


def test_every_event_of_the_person_stream_moves_the_version_a_visit_must_name() -> None:
    model = _apply(REGISTERED, ev.PersonCorrected(person_id=PERSON, sealed={"name": "x"}, fields=["name"]),
                   ev.HardshipFlagsSet(person_id=PERSON, hardship=[]), _visit(date(2026, 3, 1), "phone"))
    (person,) = model.table_rows(wk_persons)
    assert (person["version"], person["hardship"], person["township_code"]) == (4, False, TOWNSHIP)
    assert WEEK.event_types == {"person.registered", "person.corrected", "person.relocated", "person.reassessed",
                                "person.hardship_flags_set", "person.deregistered", "person.personal_data_erased",
                                "visit.recorded"}


def test_a_visit_lost_to_follow_up_does_not_reach_the_person_and_counts_the_tries() -> None:
    model = _apply(REGISTERED, _visit(date(2026, 3, 1), "lost_to_follow_up"),
                   _visit(date(2026, 4, 2), "lost_to_follow_up"))
    (year,) = model.table_rows(wk_visits)
    assert (year["reached_on"], year["lost_count"], year["last_lost_on"]) == (None, 2, date(2026, 4, 2))
    model = _apply(REGISTERED, _visit(date(2026, 3, 1), "lost_to_follow_up"), _visit(date(2026, 5, 6), "home"))
    (year,) = model.table_rows(wk_visits)
    assert (year["reached_on"], year["lost_count"]) == (date(2026, 5, 6), 1)


def test_a_relocation_moves_the_person_to_the_new_unit() -> None:
    model = _apply(REGISTERED, ev.PersonRelocated(person_id=PERSON, from_village_code=VILLAGE,
                                                  village_code="511403003001", township_code="511403003000"))
    (person,) = model.table_rows(wk_persons)
    assert (person["township_code"], person["village_code"], person["version"]) == ("511403003000", "511403003001", 2)


def _officer(township: str | None, *roles: Role) -> Principal:
    return Principal(staff_id="someone", department="federation", roles=frozenset(roles), township_code=township)


def test_an_officer_sees_their_township_and_its_villages_only() -> None:
    village = Unit(VILLAGE, "一村", "village", TOWNSHIP, "凤鸣街道")
    elsewhere = Unit("511403003001", "三村", "village", "511403003000", "青龙街道")
    require_unit(_officer(TOWNSHIP, Role.TOWNSHIP_OFFICER), village)
    require_unit(_officer(None, Role.FEDERATION_ADMIN), elsewhere)
    with pytest.raises(Forbidden):
        require_unit(_officer(TOWNSHIP, Role.TOWNSHIP_OFFICER), elsewhere)
    with pytest.raises(Forbidden):
        require_unit(_officer(None, Role.VIEWER), village)
