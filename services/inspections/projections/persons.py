"""The registry's persons, by opaque id, with the facts a focus check needs.

Where each person lives, whether severe or in hardship, active, visited and planned per year. No
name, certificate number or address ever reaches this service.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.inspections.adapters.tables import known_person_years, known_persons
from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.projection import Operation, Patch, Projection, Upsert


def person_changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """Where each person lives, whether severe or in hardship, active, visited and planned per year."""
    match event:
        case ev.PersonRegistered():
            return [Upsert(known_persons, {"person_id": event.person_id}, {
                "township_code": event.township_code, "village_code": event.village_code,
                "severe": event.severe, "hardship": bool(event.hardship), "active": True})]
        case ev.PersonRelocated():
            return [Patch(known_persons, {"person_id": event.person_id},
                          {"township_code": event.township_code, "village_code": event.village_code})]
        case ev.PersonReassessed():
            return [Patch(known_persons, {"person_id": event.person_id}, {"severe": event.severe})]
        case ev.HardshipFlagsSet():
            return [Patch(known_persons, {"person_id": event.person_id}, {"hardship": bool(event.hardship)})]
        case ev.PersonDeregistered():
            return [Patch(known_persons, {"person_id": event.person_id}, {"active": False})]
        case ev.HomeVisitRecorded() if event.outcome == "reached":
            # A 失访 attempt changes nothing: before a reached visit it is not one, after it it undoes nothing.
            return [Upsert(known_person_years, {"person_id": event.person_id, "year": event.year},
                           {"visited": True})]
        case ev.PlanDrawn():
            return [Upsert(known_person_years, {"person_id": event.person_id, "year": event.year},
                           {"planned": True})]
    return []


PERSONS = Projection(
    name="persons", source_service="registry", tables=(known_persons, known_person_years),
    reads=(ev.PersonRegistered, ev.PersonRelocated, ev.PersonReassessed, ev.HardshipFlagsSet,
           ev.PersonDeregistered, ev.HomeVisitRecorded, ev.PlanDrawn),
    changes=person_changes,
)
"""Whom a focus check may concern, and what the registry says of them this year."""
