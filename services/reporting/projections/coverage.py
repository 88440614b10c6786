"""Coverage (覆盖率) read model: who is registered, visited, has a plan, has a delivered item.

Visits are attempts: a person's year is ``attempted`` by any visit, ``visited`` (reached) by a
reached one, whatever came before or after; ``lost_to_follow_up`` says a 失访 attempt was made and
``lost_reason`` is the reason of the latest one. Lost (失访) persons are those attempted, not reached.

Fed by the registry's events only; every row here can be recomputed from the stream.

The dashboards never count persons: ``cov_counts`` (active persons per village, township, severe
and hardship), ``cov_year_counts`` (of those, attempted, visited, lost, planned, both, delivered per
year) and ``cov_lost_reasons`` (the lost by reason) are
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
    Column("attempted", Boolean, nullable=False, default=False, server_default=false()),
    Column("lost_reason", String(30)),
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
    counts=("attempted", "visited", "lost", "planned", "visited_planned", "delivered"))
"""Of the active persons, those with a visit attempt, reached (visited), lost (失访: attempted, not
reached), with a plan, visited and planned, with an item delivered, per year."""

cov_lost_reasons = _counter(
    "cov_lost_reasons",
    Column("village_code", String(12), primary_key=True), Column("township_code", String(12), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("severe", Boolean, primary_key=True), Column("hardship", Boolean, primary_key=True),
    Column("lost_reason", String(30), primary_key=True),
    counts=("lost",))
"""Of the lost (失访) persons, how many by the reason of their latest lost attempt, per year."""


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
        lost = bool(year["attempted"]) and not year["visited"]
        for column, counted in (("attempted", year["attempted"]), ("visited", year["visited"]), ("lost", lost),
                                ("planned", year["planned"]),
                                ("visited_planned", year["visited"] and year["planned"]),
                                ("delivered", (year["delivered"] or 0) > 0)):
            if counted:
                yield cov_year_counts, key, column
        if lost:
            yield cov_lost_reasons, (*key, ("lost_reason", year["lost_reason"] or NOT_RECORDED)), "lost"


COVERAGE_TALLY = Tally("coverage", subject="person_id", sources=(cov_persons, cov_years),
                       counters=(cov_counts, cov_year_counts, cov_lost_reasons), count=coverage_counts)


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
    tables=(cov_units, cov_persons, cov_years, cov_counts, cov_year_counts, cov_lost_reasons),
    reads=(ev.OrgUnitEstablished, ev.PersonRegistered, ev.PersonRelocated, ev.PersonReassessed, ev.HardshipFlagsSet,
           ev.PersonDeregistered, ev.HomeVisitRecorded, ev.PlanDrawn, ev.PlanItemDelivered),
    changes=tallied(COVERAGE_TALLY, changes),
)
