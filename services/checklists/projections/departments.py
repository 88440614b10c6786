"""Departments a task may be issued to, as the registry announces them."""

from __future__ import annotations

from collections.abc import Sequence

from services.checklists.adapters.tables import departments
from shared.catalogue import EventPayload
from shared.catalogue.people import DepartmentRegistered
from shared.envelope import Envelope
from shared.projection import Operation, Projection, Upsert


def department_changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """A registered department, by code, with its name."""
    if isinstance(event, DepartmentRegistered):
        return [Upsert(departments, {"code": event.code}, {"name": event.name})]
    return []


DEPARTMENTS = Projection(
    name="departments", source_service="registry", tables=(departments,),
    reads=(DepartmentRegistered,), changes=department_changes,
)
"""Departments a task may be issued to."""
