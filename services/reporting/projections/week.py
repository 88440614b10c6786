"""The officer's week (本周工作) read model: who in a unit is still to be reached this year, and at what version.

Fed by the registry's person streams only. Two things the other read models do not keep:

- **reached versus lost.** A visit lost to follow-up (失访) reached nobody; the officer tries again,
  and a later real visit reaches the person. ``wk_visits`` keeps, per person and year, the day of
  the first visit that reached them and the 失访 attempts apart, so that a 失访 recorded after a
  real visit never undoes it, whatever order the visits come in.
- **the person's stream version.** A visit sent from a phone carries ``expected_version`` (the
  registry refuses a stale one with 409). The phone may be offline when the officer records it, so
  the week list carries each person's version as reporting last saw it: every event of the person's
  stream moves it (``envelope.stream_version``). When reporting lags, the registry answers 409 and
  the page shows the conflict to the officer.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, String, Table

from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.projection import Increment, Operation, Patch, Projection, Upsert

metadata = MetaData()

wk_persons = Table(
    "wk_persons", metadata,
    Column("person_id", String(36), primary_key=True),
    Column("township_code", String(12), nullable=False),
    Column("village_code", String(12), nullable=False),
    Column("category", Integer, nullable=False),
    Column("grade", Integer, nullable=False),
    Column("severe", Boolean, nullable=False),
    Column("hardship", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("version", Integer, nullable=False),  # the person stream's version after the last event seen
    Index("ix_wk_persons_unit", "township_code", "village_code"),
)

wk_visits = Table(
    "wk_visits", metadata,
    Column("person_id", String(36), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("reached_on", Date),  # the first visit that reached the person (not 失访); NULL: not reached
    Column("lost_count", Integer, nullable=False, default=0, server_default="0"),
    Column("last_lost_on", Date),
)


def _version(envelope: Envelope, person_id: str) -> Patch:
    return Patch(wk_persons, {"person_id": person_id}, {"version": envelope.stream_version})


def _visit(envelope: Envelope, event: ev.HomeVisitRecorded) -> list[Operation]:
    key = {"person_id": event.person_id, "year": event.year}
    if event.outcome == "lost":
        return [Increment(wk_visits, key, "lost_count"),
                Patch(wk_visits, key, {"last_lost_on": event.visited_on}),
                _version(envelope, event.person_id)]
    # The registry takes one reaching visit a year (a 失访 does not use it up), so this is set once.
    return [Upsert(wk_visits, key, {"reached_on": event.visited_on}), _version(envelope, event.person_id)]


def changes(envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """The week rows a person-stream event changes (every one of them moves the version)."""
    match event:
        case ev.PersonRegistered():
            return [Upsert(wk_persons, {"person_id": event.person_id}, {
                "township_code": event.township_code, "village_code": event.village_code,
                "category": event.category, "grade": event.grade, "severe": event.severe,
                "hardship": bool(event.hardship), "active": True, "version": envelope.stream_version})]
        case ev.PersonRelocated():
            return [Patch(wk_persons, {"person_id": event.person_id}, {
                "township_code": event.township_code, "village_code": event.village_code,
                "version": envelope.stream_version})]
        case ev.PersonReassessed():
            return [Patch(wk_persons, {"person_id": event.person_id}, {
                "category": event.category, "grade": event.grade, "severe": event.severe,
                "version": envelope.stream_version})]
        case ev.HardshipFlagsSet():
            return [Patch(wk_persons, {"person_id": event.person_id},
                          {"hardship": bool(event.hardship), "version": envelope.stream_version})]
        case ev.PersonDeregistered():
            return [Patch(wk_persons, {"person_id": event.person_id},
                          {"active": False, "version": envelope.stream_version})]
        case ev.HomeVisitRecorded():
            return _visit(envelope, event)
        case ev.PersonCorrected() | ev.PersonalDataErased():
            return [_version(envelope, event.person_id)]
    return []


WEEK = Projection(
    name="week",
    source_service="registry",
    tables=(wk_persons, wk_visits),
    # Every event type of the person stream: each one moves the version a visit must name.
    reads=(ev.PersonRegistered, ev.PersonCorrected, ev.PersonRelocated, ev.PersonReassessed, ev.HardshipFlagsSet,
           ev.PersonDeregistered, ev.PersonalDataErased, ev.HomeVisitRecorded),
    changes=changes,
)
