"""The rectification ledger (整改台账) read model: every entry with each step of its history.

Fed by the inspections service's events only (``LEDGER``): the entry as it stands (status, deadline in
force, dates), one row per step (opened, reported, closed, reopened, deadline extended) with its date
and actor, and the group names and inspection dates that the printed ledger's "source inspection"
column shows. Overdue is not stored: it depends on the day the ledger is read, so the queries
compute it (see :mod:`services.reporting.queries.rectifications`).

``LEDGER_UNITS`` learns the names of departments and townships from the registry, so that the
printed ledger says 区民政局, not ``civil_affairs``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Column, Date, Index, Integer, MetaData, String, Table, Text

from shared.catalogue import EventPayload
from shared.catalogue import people as people_ev
from shared.catalogue import supervision as ev
from shared.envelope import Envelope
from shared.projection import Increment, Operation, Patch, Projection, Upsert

metadata = MetaData()

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("rectification_id", String(50), primary_key=True),
    Column("number", String(20)),
    Column("finding_id", String(36), nullable=False),
    Column("inspection_id", String(36), nullable=False),
    Column("group_id", String(36), nullable=False),
    Column("township_code", String(12)),
    Column("responsible_unit", String(50), nullable=False),
    Column("target_kind", String(20), nullable=False),
    Column("target_code", String(50), nullable=False),
    Column("target_name", String(200), nullable=False),
    Column("problem", Text, nullable=False),
    Column("measures", Text, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("status", String(12), nullable=False),
    Column("assigned_on", Date, nullable=False),
    Column("reported_on", Date),
    Column("closed_on", Date),
    Column("reopen_count", Integer, nullable=False, default=0, server_default="0"),
    Column("measures_taken", Text),
    # the ledger's order (queries/rectifications.py): a page is an index walk, not a sort of every entry
    Index("ix_ledger_entries_order", "assigned_on", "number", "rectification_id"),
)

ledger_steps = Table(
    "ledger_steps", metadata,
    Column("rectification_id", String(50), primary_key=True),
    Column("step", Integer, primary_key=True),  # the event's version in the entry's stream
    Column("kind", String(12), nullable=False),  # opened | reported | closed | reopened | extended
    Column("on_date", Date, nullable=False),
    Column("actor", String(50), nullable=False),
    Column("detail", Text, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON list
    Column("deadline", Date, nullable=False),  # the deadline in force after the step
)

ledger_groups = Table(
    "ledger_groups", metadata,
    Column("group_id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
)

ledger_inspections = Table(
    "ledger_inspections", metadata,
    Column("inspection_id", String(36), primary_key=True),
    Column("group_id", String(36), nullable=False),
    Column("target_name", String(200), nullable=False),
    Column("scheduled_on", Date, nullable=False),
    Column("started_on", Date),
)

ledger_names = Table(
    "ledger_names", metadata,
    Column("code", String(50), primary_key=True),  # a department code or a 12-digit township code
    Column("name", String(100), nullable=False),
    Column("kind", String(12), nullable=False),  # department | township
)


def _step(envelope: Envelope, event: ev.RectificationFacts, kind: str, on: object, detail: str,
          evidence: Sequence[str] = ()) -> Upsert:
    return Upsert(ledger_steps, {"rectification_id": event.rectification_id, "step": envelope.stream_version}, {
        "kind": kind, "on_date": on, "actor": envelope.actor, "detail": detail,
        "evidence": json.dumps(list(evidence), ensure_ascii=False), "deadline": event.deadline})


def _entry(event: ev.RectificationFacts, **values: object) -> Patch:
    return Patch(ledger_entries, {"rectification_id": event.rectification_id},
                 {"deadline": event.deadline, **values})


def _ledger_changes(envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    match event:
        case ev.RectificationAssigned():
            return [Upsert(ledger_entries, {"rectification_id": event.rectification_id}, {
                "number": event.number, "finding_id": event.finding_id, "inspection_id": event.inspection_id,
                "group_id": event.group_id, "township_code": event.township_code,
                "responsible_unit": event.responsible_unit, "target_kind": event.target_kind,
                "target_code": event.target_code, "target_name": event.target_name, "problem": event.problem,
                "measures": event.measures, "deadline": event.deadline, "status": "assigned",
                "assigned_on": event.assigned_on, "reported_on": None, "closed_on": None, "reopen_count": 0,
                "measures_taken": None}),
                _step(envelope, event, "opened", event.assigned_on, event.measures)]
        case ev.RectificationReported():
            return [_entry(event, status="reported", reported_on=event.reported_on,
                           measures_taken=event.measures_taken),
                    _step(envelope, event, "reported", event.reported_on, event.measures_taken, event.evidence)]
        case ev.RectificationVerified():
            return [_entry(event, status="closed", closed_on=event.verified_on),
                    _step(envelope, event, "closed", event.verified_on, event.note, event.evidence)]
        case ev.RectificationReopened():
            return [_entry(event, status="reopened"),
                    Increment(ledger_entries, {"rectification_id": event.rectification_id}, "reopen_count"),
                    _step(envelope, event, "reopened", event.reopened_on, event.reason)]
        case ev.RectificationDeadlineExtended():
            detail = f"{event.previous_deadline.isoformat()} → {event.deadline.isoformat()}: {event.reason}"
            return [_entry(event), _step(envelope, event, "extended", envelope.time.date(), detail)]
    return []


def changes(envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """The ledger rows an inspections event changes."""
    match event:
        case ev.GroupFormed():
            return [Upsert(ledger_groups, {"group_id": event.group_id}, {"name": event.name})]
        case ev.InspectionScheduled():
            return [Upsert(ledger_inspections, {"inspection_id": event.inspection_id}, {
                "group_id": event.group_id, "target_name": event.target_name,
                "scheduled_on": event.scheduled_on, "started_on": None})]
        case ev.InspectionStarted():
            return [Patch(ledger_inspections, {"inspection_id": event.inspection_id},
                          {"started_on": event.started_on})]
    return _ledger_changes(envelope, event)


def name_changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """Department and township names, for the printed ledger."""
    match event:
        case people_ev.DepartmentRegistered():
            return [Upsert(ledger_names, {"code": event.code}, {"name": event.name, "kind": "department"})]
        case people_ev.OrgUnitEstablished() if event.level == "township":
            return [Upsert(ledger_names, {"code": event.code}, {"name": event.name, "kind": "township"})]
    return []


LEDGER = Projection(
    name="ledger",
    source_service="inspections",
    tables=(ledger_entries, ledger_steps, ledger_groups, ledger_inspections),
    reads=(ev.GroupFormed, ev.InspectionScheduled, ev.InspectionStarted, ev.RectificationAssigned,
           ev.RectificationReported, ev.RectificationVerified, ev.RectificationReopened,
           ev.RectificationDeadlineExtended),
    changes=changes,
)

LEDGER_UNITS = Projection(
    name="ledger_units",
    source_service="registry",
    tables=(ledger_names,),
    reads=(people_ev.DepartmentRegistered, people_ev.OrgUnitEstablished),
    changes=name_changes,
)
