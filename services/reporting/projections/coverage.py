"""Coverage (覆盖率) read model: who is registered, visited, has a plan, has a delivered item.

Visits are attempts: a person's year is ``attempted`` by any visit, ``visited`` (reached) by a
reached one, whatever came before or after; ``lost_to_follow_up`` says a 失访 attempt was made and
``lost_reason`` is the reason of the latest one. Lost (失访) persons are those attempted, not reached.

Fed by the registry's events only; every row here can be recomputed from the stream.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, false

from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.projection import Increment, Operation, Patch, Projection, Upsert

metadata = MetaData()

NOT_RECORDED = "not_recorded"
"""The reason of a 失访 attempt recorded without one (``visit.recorded`` v1, or the old request body)."""

cov_units = Table(
    "cov_units", metadata,
    Column("code", String(12), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("level", String(10), nullable=False),
    Column("parent_code", String(12)),
)

cov_persons = Table(
    "cov_persons", metadata,
    Column("person_id", String(36), primary_key=True),
    Column("village_code", String(12), nullable=False),
    Column("township_code", String(12), nullable=False),
    Column("category", Integer, nullable=False),
    Column("grade", Integer, nullable=False),
    Column("severe", Boolean, nullable=False),
    Column("hardship", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
)

cov_years = Table(
    "cov_years", metadata,
    Column("person_id", String(36), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("visited", Boolean, nullable=False, default=False, server_default=false()),
    Column("lost_to_follow_up", Boolean, nullable=False, default=False, server_default=false()),
    Column("attempted", Boolean, nullable=False, default=False, server_default=false()),
    Column("lost_reason", String(30)),
    Column("planned", Boolean, nullable=False, default=False, server_default=false()),
    Column("delivered", Integer, nullable=False, default=0, server_default="0"),
)


def changes(envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """The coverage rows an event changes."""
    match event:
        case ev.OrgUnitEstablished():
            return [Upsert(cov_units, {"code": event.code},
                           {"name": event.name, "level": event.level, "parent_code": event.parent_code})]
        case ev.PersonRegistered():
            return [Upsert(cov_persons, {"person_id": event.person_id}, {
                "village_code": event.village_code, "township_code": event.township_code,
                "category": event.category, "grade": event.grade, "severe": event.severe,
                "hardship": bool(event.hardship), "active": True})]
        case ev.PersonRelocated():
            return [Patch(cov_persons, {"person_id": event.person_id},
                          {"village_code": event.village_code, "township_code": event.township_code})]
        case ev.PersonReassessed():
            return [Patch(cov_persons, {"person_id": event.person_id},
                          {"category": event.category, "grade": event.grade, "severe": event.severe})]
        case ev.HardshipFlagsSet():
            return [Patch(cov_persons, {"person_id": event.person_id}, {"hardship": bool(event.hardship)})]
        case ev.PersonDeregistered():
            return [Patch(cov_persons, {"person_id": event.person_id}, {"active": False})]
        case ev.HomeVisitRecorded():
            key = {"person_id": event.person_id, "year": event.year}
            if event.outcome == "reached":  # reached once is reached for the year, whatever follows
                return [Upsert(cov_years, key, {"attempted": True, "visited": True})]
            return [Upsert(cov_years, key, {"attempted": True, "lost_to_follow_up": True,
                                            "lost_reason": event.lost_reason or NOT_RECORDED})]
        case ev.PlanDrawn():
            return [Upsert(cov_years, {"person_id": event.person_id, "year": event.year}, {"planned": True})]
        case ev.PlanItemDelivered():
            return [Increment(cov_years, {"person_id": event.person_id, "year": event.year}, "delivered")]
    return []


COVERAGE = Projection(
    name="coverage",
    source_service="registry",
    tables=(cov_units, cov_persons, cov_years),
    reads=(ev.OrgUnitEstablished, ev.PersonRegistered, ev.PersonRelocated, ev.PersonReassessed, ev.HardshipFlagsSet,
           ev.PersonDeregistered, ev.HomeVisitRecorded, ev.PlanDrawn, ev.PlanItemDelivered),
    changes=changes,
)
