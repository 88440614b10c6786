"""Plan items (一人一策 measures) for the overdue work list, from the registry's events.

An item is overdue when it is still ``planned`` after its due date; that depends on the day the list
is read, so it is computed by the query (:mod:`services.reporting.queries.worklist`), not stored.
Persons are kept by opaque id with where they live now (a relocation moves their items to the new
township) and whether they are still registered (a deregistered person's items leave the list).
``pi_names`` holds department and org-unit names, so that lists say 区卫健局 and 凤鸣街道.

``pi_due_counts`` counts the items still planned of active persons per responsible department,
township and due day (the :data:`PLAN_ITEMS_TALLY` of each person's rows, moved with them), and
``pi_due_month_counts`` the same per due month (its first day): the work list and the scoreboards
count overdue items from the months before the current one and the days of the current one, a few
hundred counter rows whatever the number of persons, not from the items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.projection import CounterKey, Operation, Patch, Projection, Row, Tally, Upsert, tallied

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
    Index("ix_pi_items_person", "person_id"),  # a person's items, for the tally
    Index("ix_pi_items_due", "status", "due_on", "item_id"),  # the work list's pages, by due day
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


pi_due_counts = Table(
    "pi_due_counts", metadata,
    Column("responsible_department", String(50), primary_key=True),
    Column("township_code", String(12), primary_key=True),
    Column("due_on", Date, primary_key=True),
    Column("planned", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_pi_due_counts_due_on", "due_on"),  # this month's days, read beside the months' counters
)
"""Items still planned, of persons still registered, per department, township and due day."""

pi_due_month_counts = Table(
    "pi_due_month_counts", metadata,
    Column("responsible_department", String(50), primary_key=True),
    Column("township_code", String(12), primary_key=True),
    Column("due_month", Date, primary_key=True),  # the first day of the due month
    Column("planned", Integer, nullable=False, default=0, server_default="0"),
)
"""``pi_due_counts`` summed per due month: what a count of overdue items reads for the past months."""


def month_of(day: date) -> date:
    """The first day of ``day``'s month (the key of ``pi_due_month_counts``)."""
    return day.replace(day=1)


def due_counts(rows: Mapping[str, Sequence[Row]]) -> Iterable[CounterKey]:
    """The counters one person's rows add to: each planned item, if the person is registered and active."""
    person = rows["pi_persons"][0] if rows["pi_persons"] else None
    if person is None or not person["active"]:
        return
    for item in rows["pi_items"]:
        if item["status"] == "planned":
            where = (("responsible_department", item["responsible_department"]),
                     ("township_code", person["township_code"]))
            yield pi_due_counts, (*where, ("due_on", item["due_on"])), "planned"
            yield pi_due_month_counts, (*where, ("due_month", month_of(item["due_on"]))), "planned"


PLAN_ITEMS_TALLY = Tally("plan_items", subject="person_id", sources=(pi_persons, pi_items),
                         counters=(pi_due_counts, pi_due_month_counts), count=due_counts)


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
    tables=(pi_items, pi_persons, pi_names, pi_due_counts, pi_due_month_counts),
    reads=(ev.PlanItemAdded, ev.PlanItemDelivered, ev.PlanItemCancelled, ev.PlanItemNotDelivered,
           ev.PersonRegistered, ev.PersonRelocated, ev.PersonDeregistered, ev.DepartmentRegistered,
           ev.OrgUnitEstablished),
    changes=tallied(PLAN_ITEMS_TALLY, changes),
)
