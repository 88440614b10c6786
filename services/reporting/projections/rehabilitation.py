"""Basic rehabilitation service coverage (基本康复服务覆盖率): who needs rehabilitation, who received it.

A person needs rehabilitation in a year when a home visit of that year reached them (not lost to
follow-up) and recorded a rehabilitation need code (:data:`REHABILITATION_NEEDS`); they received it
when a plan item of that year for a rehabilitation need was delivered. Persons are counted where
they live now (a relocation moves them) and only while registered. The query
(:mod:`services.reporting.queries.rehabilitation`) rolls the counts up village → township → district.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table

from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.projection import Operation, Patch, Projection, Upsert

REHABILITATION_NEEDS = frozenset({"rehabilitation"})
"""The home-visit need codes that count as a rehabilitation need (康复服务); plan items for the same
needs count as the basic rehabilitation service (the catalogue's ``basic_rehabilitation`` answers it)."""

metadata = MetaData()

rh_units = Table(
    "rh_units", metadata,
    Column("code", String(12), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("level", String(10), nullable=False),
    Column("parent_code", String(12)),
)

rh_persons = Table(
    "rh_persons", metadata,
    Column("person_id", String(80), primary_key=True),
    Column("village_code", String(12), nullable=False),
    Column("township_code", String(12), nullable=False),
    Column("active", Boolean, nullable=False),
)

rh_needs = Table(
    "rh_needs", metadata,
    Column("person_id", String(80), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("visit_id", String(80), nullable=False),  # the (last) reached visit that recorded the need
)

rh_items = Table(
    "rh_items", metadata,
    Column("item_id", String(80), primary_key=True),
    Column("person_id", String(80), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("status", String(14), nullable=False),  # planned | delivered | not_delivered | cancelled
    Column("delivered_on", Date),
)


def _reached(event: ev.HomeVisitRecorded) -> bool:
    return event.outcome == "reached"


def changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """The rehabilitation rows a registry event changes."""
    match event:
        case ev.HomeVisitRecorded():
            if _reached(event) and REHABILITATION_NEEDS.intersection(event.needs):
                return [Upsert(rh_needs, {"person_id": event.person_id, "year": event.year},
                               {"visit_id": event.visit_id})]
        case ev.PlanItemAdded():
            if event.need in REHABILITATION_NEEDS:
                return [Upsert(rh_items, {"item_id": event.item_id}, {
                    "person_id": event.person_id, "year": event.year, "status": "planned", "delivered_on": None})]
        case ev.PlanItemDelivered():  # a patch: items for other needs have no row
            return [Patch(rh_items, {"item_id": event.item_id},
                          {"status": "delivered", "delivered_on": event.delivered_on})]
        case ev.PlanItemNotDelivered():
            return [Patch(rh_items, {"item_id": event.item_id}, {"status": "not_delivered"})]
        case ev.PlanItemCancelled():
            return [Patch(rh_items, {"item_id": event.item_id}, {"status": "cancelled"})]
        case ev.PersonRegistered():
            return [Upsert(rh_persons, {"person_id": event.person_id}, {
                "village_code": event.village_code, "township_code": event.township_code, "active": True})]
        case ev.PersonRelocated():
            return [Patch(rh_persons, {"person_id": event.person_id},
                          {"village_code": event.village_code, "township_code": event.township_code})]
        case ev.PersonDeregistered():
            return [Patch(rh_persons, {"person_id": event.person_id}, {"active": False})]
        case ev.OrgUnitEstablished():
            return [Upsert(rh_units, {"code": event.code},
                           {"name": event.name, "level": event.level, "parent_code": event.parent_code})]
    return []


REHABILITATION = Projection(
    name="rehabilitation",
    source_service="registry",
    tables=(rh_units, rh_persons, rh_needs, rh_items),
    reads=(ev.HomeVisitRecorded, ev.PlanItemAdded, ev.PlanItemDelivered, ev.PlanItemNotDelivered,
           ev.PlanItemCancelled, ev.PersonRegistered, ev.PersonRelocated, ev.PersonDeregistered,
           ev.OrgUnitEstablished),
    changes=changes,
)
