"""The registry's directory: staff (for group membership), departments (lead and responsible units), org units."""

from __future__ import annotations

import json
from collections.abc import Sequence

from services.inspections.adapters.tables import known_departments, known_org_units, known_staff
from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.projection import Operation, Patch, Projection, Upsert


def directory_changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """Staff, departments and org units as the registry announces them."""
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
                "roles": json.dumps(sorted(event.roles)), "township_code": event.township_code})]
        case ev.StaffRolesChanged():
            return [Patch(known_staff, {"staff_id": event.staff_id},
                          {"roles": json.dumps(sorted(event.roles)), "township_code": event.township_code})]
    return []


DIRECTORY = Projection(
    name="directory", source_service="registry",
    tables=(known_staff, known_departments, known_org_units),
    reads=(ev.OrgUnitEstablished, ev.DepartmentRegistered, ev.StaffEnrolled, ev.StaffRolesChanged),
    changes=directory_changes,
)
"""Who may join an inspection group, which units may lead or answer for a rectification."""
