"""What the inspections service learns from other services' events, as pure projections.

Each projection is fed by its own durable consumer (``inspections-<name>``): the templates the
checklists services publish, the directory (staff, departments, org units) and the persons of the
registry, by opaque id, with the facts a focus check needs (severe, hardship, visited, planned).
No name, certificate number or address ever reaches this service.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from services.inspections.adapters.tables import (
    known_departments,
    known_org_units,
    known_person_years,
    known_persons,
    known_staff,
    known_templates,
)
from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.catalogue.worklists import TemplateVersionPublished
from shared.envelope import Envelope
from shared.projection import Operation, Patch, Projection, Upsert


def template_changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """A published template version, with its items in order (a version never changes once published)."""
    if not isinstance(event, TemplateVersionPublished):
        return []
    items = [item.model_dump() for item in event.items]
    return [Upsert(known_templates, {"template_id": event.template_id, "version": event.version}, {
        "title": event.title, "items": json.dumps(items, ensure_ascii=False),
        "published_on": event.published_on, "supersedes": event.supersedes})]


def directory_changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """Staff (for group membership), departments (lead units, responsible units) and org units."""
    match event:
        case ev.OrgUnitEstablished():
            return [Upsert(known_org_units, {"code": event.code},
                           {"name": event.name, "level": event.level, "parent_code": event.parent_code})]
        case ev.DepartmentRegistered():
            return [Upsert(known_departments, {"code": event.code},
                           {"name": event.name, "org_unit_code": event.org_unit_code})]
        case ev.StaffEnrolled():
            return [Upsert(known_staff, {"staff_id": event.staff_id}, {
                "display_name": event.display_name, "department": event.department,
                "roles": ",".join(sorted(event.roles)), "township_code": event.township_code})]
        case ev.StaffRolesChanged():
            return [Patch(known_staff, {"staff_id": event.staff_id},
                          {"roles": ",".join(sorted(event.roles)), "township_code": event.township_code})]
    return []


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
        case ev.HomeVisitRecorded():
            return [Upsert(known_person_years, {"person_id": event.person_id, "year": event.year},
                           {"visited": event.mode != "lost_to_follow_up"})]
        case ev.PlanDrawn():
            return [Upsert(known_person_years, {"person_id": event.person_id, "year": event.year},
                           {"planned": True})]
    return []


TEMPLATES = Projection(
    name="templates", source_service="checklists", tables=(known_templates,),
    event_types=frozenset({"template.version_published"}), changes=template_changes,
)
DIRECTORY = Projection(
    name="directory", source_service="registry",
    tables=(known_staff, known_departments, known_org_units),
    event_types=frozenset({"orgunit.established", "department.registered", "staff.enrolled",
                           "staff.roles_changed"}),
    changes=directory_changes,
)
PERSONS = Projection(
    name="persons", source_service="registry", tables=(known_persons, known_person_years),
    event_types=frozenset({"person.registered", "person.relocated", "person.reassessed",
                           "person.hardship_flags_set", "person.deregistered", "visit.recorded",
                           "plan.drawn"}),
    changes=person_changes,
)

FACTS: tuple[Projection, ...] = (TEMPLATES, DIRECTORY, PERSONS)
"""Every projection of other services' facts, each fed by its own durable consumer."""
