"""Coverage (覆盖率) read model: who is registered, visited, has a plan, has a delivered item.

Fed by the registry's events only; every row here can be recomputed from the stream.

The dashboards never count persons: ``cov_counts`` (active persons per village, township, severe
and hardship) and ``cov_year_counts`` (of those, visited, planned, both, delivered per year) are
counters kept by the :data:`COVERAGE_TALLY` of each person's rows, moved in the same transaction
as the rows (``shared.projection.Tallied``), a few hundred rows however large the register.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, false

from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.projection import CounterKey, Increment, Operation, Patch, Projection, Row, Tally, Upsert, tallied

metadata = MetaData()

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
    # The follow-up list's pages, one (severe, hardship) group at a time, by village then id, in the
    # district, a township or a village (queries/coverage_persons.py): an index walk, never a sort.
    Index("ix_cov_persons_follow_up", "severe", "hardship", "village_code", "person_id"),
    Index("ix_cov_persons_township_follow_up", "township_code", "severe", "hardship", "village_code", "person_id"),
    Index("ix_cov_persons_village_follow_up", "village_code", "severe", "hardship", "person_id"),
)

cov_years = Table(
    "cov_years", metadata,
    Column("person_id", String(36), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("visited", Boolean, nullable=False, default=False, server_default=false()),
    Column("lost_to_follow_up", Boolean, nullable=False, default=False, server_default=false()),
    Column("planned", Boolean, nullable=False, default=False, server_default=false()),
    Column("delivered", Integer, nullable=False, default=0, server_default="0"),
)


def _counter(name: str, *key: Column[Any], counts: Sequence[str]) -> Table:
    return Table(name, metadata, *key, *(Column(c, Integer, nullable=False, default=0, server_default="0")
                                         for c in counts))


cov_counts = _counter(
    "cov_counts",
    Column("village_code", String(12), primary_key=True), Column("township_code", String(12), primary_key=True),
    Column("severe", Boolean, primary_key=True), Column("hardship", Boolean, primary_key=True),
    counts=("registered",))
"""Active persons per village (and the township they give), severe and hardship."""

cov_year_counts = _counter(
    "cov_year_counts",
    Column("village_code", String(12), primary_key=True), Column("township_code", String(12), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("severe", Boolean, primary_key=True), Column("hardship", Boolean, primary_key=True),
    counts=("visited", "planned", "visited_planned", "delivered"))
"""Of the active persons, those visited, with a plan, both, with an item delivered, per year."""


def coverage_counts(rows: Mapping[str, Sequence[Row]]) -> Iterable[CounterKey]:
    """The counters one person's rows add to: none unless registered and active."""
    person = rows["cov_persons"][0] if rows["cov_persons"] else None
    if person is None or not person["active"]:
        return
    where = (("village_code", person["village_code"]), ("township_code", person["township_code"]))
    groups = (("severe", bool(person["severe"])), ("hardship", bool(person["hardship"])))
    yield cov_counts, (*where, *groups), "registered"
    for year in rows["cov_years"]:
        key = (*where, ("year", year["year"]), *groups)
        for column, counted in (("visited", year["visited"]), ("planned", year["planned"]),
                                ("visited_planned", year["visited"] and year["planned"]),
                                ("delivered", (year["delivered"] or 0) > 0)):
            if counted:
                yield cov_year_counts, key, column


COVERAGE_TALLY = Tally("coverage", subject="person_id", sources=(cov_persons, cov_years),
                       counters=(cov_counts, cov_year_counts), count=coverage_counts)


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
            lost = event.mode == "lost_to_follow_up"
            return [Upsert(cov_years, {"person_id": event.person_id, "year": event.year},
                           {"visited": not lost, "lost_to_follow_up": lost})]
        case ev.PlanDrawn():
            return [Upsert(cov_years, {"person_id": event.person_id, "year": event.year}, {"planned": True})]
        case ev.PlanItemDelivered():
            return [Increment(cov_years, {"person_id": event.person_id, "year": event.year}, "delivered")]
    return []


COVERAGE = Projection(
    name="coverage",
    source_service="registry",
    tables=(cov_units, cov_persons, cov_years, cov_counts, cov_year_counts),
    reads=(ev.OrgUnitEstablished, ev.PersonRegistered, ev.PersonRelocated, ev.PersonReassessed, ev.HardshipFlagsSet,
           ev.PersonDeregistered, ev.HomeVisitRecorded, ev.PlanDrawn, ev.PlanItemDelivered),
    changes=tallied(COVERAGE_TALLY, changes),
)
