"""Plan items (一人一策 measures) for the overdue work list, from the registry's events.

An item is overdue when it is still ``planned`` after its due date; that depends on the day the list
is read, so it is computed by the query (:mod:`services.reporting.queries.worklist`), not stored.
Persons are kept by opaque id with where they live now (a relocation moves their items to the new
township) and whether they are still registered (a deregistered person's items leave the list).
``pi_names`` holds department and org-unit names, so that lists say 区卫健局 and 凤鸣街道.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table, Text

from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.projection import Operation, Patch, Projection, Upsert

metadata = MetaData()

pi_items = Table(
    "pi_items", metadata,
    Column("item_id", String(80), primary_key=True),
    Column("plan_id", String(80), nullable=False),
    Column("person_id", String(80), nullable=False),
    Column("year", Integer, nullable=False),
    Column("kind", String(12), nullable=False),
    Column("need", String(40), nullable=False),
    Column("description", Text, nullable=False),
    Column("responsible_department", String(50), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("status", String(14), nullable=False),  # planned | delivered | not_delivered | cancelled
    Column("delivered_on", Date),
    Column("cancel_reason", Text),
)

pi_persons = Table(
    "pi_persons", metadata,
    Column("person_id", String(80), primary_key=True),
    Column("village_code", String(12), nullable=False),
    Column("township_code", String(12), nullable=False),
    Column("active", Boolean, nullable=False),
)

pi_names = Table(
    "pi_names", metadata,
    Column("code", String(50), primary_key=True),  # a department code or a 12-digit org-unit code
    Column("name", String(100), nullable=False),
    Column("kind", String(12), nullable=False),  # department | district | township | village
    Column("parent_code", String(12)),
)


def changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """The plan-item rows a registry event changes."""
    match event:
        case ev.PlanItemAdded():
            return [Upsert(pi_items, {"item_id": event.item_id}, {
                "plan_id": event.plan_id, "person_id": event.person_id, "year": event.year, "kind": event.kind,
                "need": event.need, "description": event.description,
                "responsible_department": event.responsible_department, "due_on": event.due_on,
                "status": "planned", "delivered_on": None, "cancel_reason": None})]
        case ev.PlanItemDelivered():
            return [Patch(pi_items, {"item_id": event.item_id},
                          {"status": "delivered", "delivered_on": event.delivered_on})]
        case ev.PlanItemCancelled():
            return [Patch(pi_items, {"item_id": event.item_id},
                          {"status": "cancelled", "cancel_reason": event.reason})]
        case ev.PlanItemNotDelivered():  # closed: it leaves the overdue list
            return [Patch(pi_items, {"item_id": event.item_id}, {"status": "not_delivered"})]
        case ev.PersonRegistered():
            return [Upsert(pi_persons, {"person_id": event.person_id}, {
                "village_code": event.village_code, "township_code": event.township_code, "active": True})]
        case ev.PersonRelocated():
            return [Patch(pi_persons, {"person_id": event.person_id},
                          {"village_code": event.village_code, "township_code": event.township_code})]
        case ev.PersonDeregistered():
            return [Patch(pi_persons, {"person_id": event.person_id}, {"active": False})]
        case ev.DepartmentRegistered():
            return [Upsert(pi_names, {"code": event.code},
                           {"name": event.name, "kind": "department", "parent_code": None})]
        case ev.OrgUnitEstablished():
            return [Upsert(pi_names, {"code": event.code},
                           {"name": event.name, "kind": event.level, "parent_code": event.parent_code})]
    return []


PLAN_ITEMS = Projection(
    name="plan_items",
    source_service="registry",
    tables=(pi_items, pi_persons, pi_names),
    reads=(ev.PlanItemAdded, ev.PlanItemDelivered, ev.PlanItemCancelled, ev.PlanItemNotDelivered,
           ev.PersonRegistered, ev.PersonRelocated, ev.PersonDeregistered, ev.DepartmentRegistered,
           ev.OrgUnitEstablished),
    changes=changes,
)
