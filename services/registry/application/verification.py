"""What ``verify`` checks the registry's lookup tables against: each row recomputed from events.

``persons`` decides which township officer may read whom (a moved row is a leak) and ``staff``
which roles a token is issued with (an edited row is an escalation); ``org_units`` and
``departments`` are checked too. Each row is rebuilt as the use cases write it
(``persons._save_row``, ``organisation``). The personal-data tables (``person_keys``,
``resident_index``) are not covered yet.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from services.registry.adapters.tables import departments, org_units, persons, service_catalogue, staff
from services.registry.domain import person as domain
from services.registry.domain import service_catalogue as service_domain
from shared.aggregate import fold
from shared.catalogue.people import (
    DepartmentRegistered,
    OrgUnitEstablished,
    PersonRegistered,
    StaffEnrolled,
    StaffRolesChanged,
)
from shared.eventstore.lookup_check import LookupRows
from shared.eventstore.store import RecordedEvent


def person_row(recorded: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    """The ``persons`` row a person's stream implies."""
    state = fold(domain.evolve, [r.payload for r in recorded])
    registered = next((r.payload for r in recorded if isinstance(r.payload, PersonRegistered)), None)
    if state is None or registered is None:
        return None
    sealed: dict[str, str] = {}
    for r in recorded:  # later sealed values replace earlier ones
        sealed.update(getattr(r.payload, "sealed", None) or {})
    return {
        "person_id": state.person_id, "version": recorded[-1].envelope.stream_version,
        "township_code": state.township_code, "village_code": state.village_code,
        "category": state.category, "grade": state.grade, "severe": state.severe,
        "hardship": ",".join(state.hardship), "sex": state.sex, "birth_year": state.birth_year,
        "active": state.active, "erased": state.erased, "registered_on": registered.registered_on,
        "sealed": "{}" if state.erased else json.dumps(sealed),
    }


def org_unit_row(recorded: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    """The ``org_units`` row of an org unit's stream (units never change once established)."""
    event = recorded[0].payload
    if not isinstance(event, OrgUnitEstablished):
        return None
    return {"code": event.code, "name": event.name, "level": event.level, "parent_code": event.parent_code}


def department_row(recorded: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    """The ``departments`` row of a department's stream."""
    event = recorded[0].payload
    if not isinstance(event, DepartmentRegistered):
        return None
    return {"code": event.code, "name": event.name, "org_unit_code": event.org_unit_code}


def staff_row(recorded: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    """The ``staff`` row of a member of staff's stream: enrolled, then any role changes."""
    row: dict[str, Any] | None = None
    for r in recorded:
        event = r.payload
        if isinstance(event, StaffEnrolled):
            row = {"staff_id": event.staff_id, "display_name": event.display_name, "department": event.department,
                   "roles": json.dumps(sorted(event.roles)), "township_code": event.township_code}
        elif isinstance(event, StaffRolesChanged) and row is not None:
            row |= {"roles": json.dumps(sorted(event.roles)), "township_code": event.township_code}
    return row


def service_row(recorded: Sequence[RecordedEvent]) -> dict[str, Any] | None:
    """The ``service_catalogue`` row of a catalogue entry's stream."""
    state = fold(service_domain.evolve, [r.payload for r in recorded])
    if state is None:
        return None
    return {"code": state.code, "name_zh": state.name_zh, "name_en": state.name_en, "need": state.need,
            "part": state.part, "responsible_department": state.responsible_department,
            "default_days": state.default_days, "retired": state.retired,
            "version": recorded[-1].envelope.stream_version}


def _normalise(column: str, value: Any) -> Any:
    if column in ("sealed", "roles") and isinstance(value, str):
        return json.loads(value)
    return value


LOOKUPS = (
    LookupRows(persons, "person", person_row, normalise=_normalise),
    LookupRows(staff, "staff", staff_row, normalise=_normalise),
    LookupRows(org_units, "orgunit", org_unit_row),
    LookupRows(departments, "department", department_row),
    LookupRows(service_catalogue, "service", service_row),
)
"""The registry's lookup tables that ``verify`` recomputes from events."""
