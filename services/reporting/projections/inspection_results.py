"""Inspection read models: scores by township and template item over time, open findings per group.

``INSPECTIONS`` is fed by the inspections service's events: each inspection with its score once
completed, the final result of every template item (from ``inspection.completed``, so that a result
corrected during the visit counts once), and every finding with the state of its ledger entry.
``INSPECTION_TEMPLATES`` learns the items' text from the checklists services' published templates.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, Date, Float, Integer, MetaData, String, Table, Text

from shared.catalogue import EventPayload
from shared.catalogue import supervision as ev
from shared.catalogue.worklists import TemplateVersionPublished
from shared.envelope import Envelope
from shared.projection import Operation, Patch, Projection, Upsert

metadata = MetaData()

insp_groups = Table(
    "insp_groups", metadata,
    Column("group_id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("leader", String(50), nullable=False),
)

insp_inspections = Table(
    "insp_inspections", metadata,
    Column("inspection_id", String(36), primary_key=True),
    Column("group_id", String(36), nullable=False),
    Column("target_kind", String(20), nullable=False),
    Column("target_code", String(50), nullable=False),
    Column("target_name", String(200), nullable=False),
    Column("township_code", String(12)),
    Column("template_id", String(100), nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("scheduled_on", Date, nullable=False),
    Column("started_on", Date),
    Column("completed_on", Date),
    Column("score", Float),
    Column("items_passed", Integer),
    Column("items_failed", Integer),
    Column("items_not_applicable", Integer),
    Column("focus_checks", Integer),
    Column("focus_checks_with_issues", Integer),
)

insp_item_results = Table(
    "insp_item_results", metadata,
    Column("inspection_id", String(36), primary_key=True),
    Column("item_id", String(100), primary_key=True),
    Column("group_id", String(36), nullable=False),
    Column("township_code", String(12)),
    Column("template_id", String(100), nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("result", String(16), nullable=False),
    Column("completed_on", Date, nullable=False),
)

insp_findings = Table(
    "insp_findings", metadata,
    Column("finding_id", String(36), primary_key=True),
    Column("inspection_id", String(36), nullable=False),
    Column("group_id", String(36), nullable=False),
    Column("township_code", String(12)),
    Column("source", String(12), nullable=False),
    Column("item_id", String(100)),
    Column("description", Text, nullable=False),
    Column("recorded_on", Date, nullable=False),
    Column("status", String(12), nullable=False),  # open (not in the ledger yet) | a ledger status
    Column("number", String(20)),
    Column("responsible_unit", String(50)),
    Column("deadline", Date),
)

insp_template_items = Table(
    "insp_template_items", metadata,
    Column("template_id", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("item_id", String(100), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("title", String(200), nullable=False),  # the template's title
    Column("text", Text, nullable=False),
    Column("weight", Float, nullable=False),
)


def _ledger(event: ev.RectificationFacts, status: str) -> Patch:
    return Patch(insp_findings, {"finding_id": event.finding_id}, {
        "status": status, "number": event.number, "responsible_unit": event.responsible_unit,
        "deadline": event.deadline})


_LEDGER_STATUS: dict[type[EventPayload], str] = {
    ev.RectificationReported: "reported", ev.RectificationVerified: "closed",
    ev.RectificationReopened: "reopened",
}


def changes(envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """The inspection rows an inspections event changes."""
    match event:
        case ev.GroupFormed():
            return [Upsert(insp_groups, {"group_id": event.group_id}, {"name": event.name, "leader": event.leader})]
        case ev.GroupMembershipChanged():
            return [Patch(insp_groups, {"group_id": event.group_id}, {"leader": event.leader})]
        case ev.InspectionScheduled():
            return [Upsert(insp_inspections, {"inspection_id": event.inspection_id}, {
                "group_id": event.group_id, "target_kind": event.target_kind, "target_code": event.target_code,
                "target_name": event.target_name, "township_code": event.township_code,
                "template_id": event.template_id, "template_version": event.template_version,
                "status": "scheduled", "scheduled_on": event.scheduled_on})]
        case ev.InspectionStarted():
            return [Patch(insp_inspections, {"inspection_id": event.inspection_id},
                          {"status": "started", "started_on": event.started_on})]
        case ev.InspectionCancelled():
            return [Patch(insp_inspections, {"inspection_id": event.inspection_id}, {"status": "cancelled"})]
        case ev.InspectionCompleted():
            return [Patch(insp_inspections, {"inspection_id": event.inspection_id}, {
                "status": "completed", "completed_on": event.completed_on, "score": event.score,
                "items_passed": event.items_passed, "items_failed": event.items_failed,
                "items_not_applicable": event.items_not_applicable, "focus_checks": event.focus_checks,
                "focus_checks_with_issues": event.focus_checks_with_issues}),
                *(Upsert(insp_item_results, {"inspection_id": event.inspection_id, "item_id": item_id}, {
                    "group_id": event.group_id, "township_code": event.township_code,
                    "template_id": event.template_id, "template_version": event.template_version,
                    "result": result, "completed_on": event.completed_on})
                  for item_id, result in event.item_results.items())]
        case ev.FindingRecorded():
            return [Upsert(insp_findings, {"finding_id": event.finding_id}, {
                "inspection_id": event.inspection_id, "group_id": event.group_id,
                "township_code": event.township_code, "source": event.source,
                "item_id": event.item_id, "description": event.description, "recorded_on": envelope.time.date(),
                "status": "open", "number": None, "responsible_unit": None, "deadline": None})]
        case ev.RectificationAssigned():
            return [_ledger(event, "assigned")]
        case ev.RectificationReported() | ev.RectificationVerified() | ev.RectificationReopened():
            return [_ledger(event, _LEDGER_STATUS[type(event)])]
        case ev.RectificationDeadlineExtended():
            return [Patch(insp_findings, {"finding_id": event.finding_id}, {"deadline": event.deadline})]
    return []


def template_changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    """The items of a published template version, in order, with their text and weight."""
    if not isinstance(event, TemplateVersionPublished):
        return []
    return [Upsert(insp_template_items,
                   {"template_id": event.template_id, "version": event.version, "item_id": item.item_id},
                   {"position": n, "title": event.title, "text": item.text, "weight": item.weight})
            for n, item in enumerate(event.items, start=1)]


INSPECTIONS = Projection(
    name="inspections",
    source_service="inspections",
    tables=(insp_groups, insp_inspections, insp_item_results, insp_findings),
    reads=(ev.GroupFormed, ev.GroupMembershipChanged, ev.InspectionScheduled, ev.InspectionStarted,
           ev.InspectionCancelled, ev.InspectionCompleted, ev.FindingRecorded, ev.RectificationAssigned,
           ev.RectificationReported, ev.RectificationVerified, ev.RectificationReopened,
           ev.RectificationDeadlineExtended),
    changes=changes,
)

INSPECTION_TEMPLATES = Projection(
    name="inspection_templates",
    source_service="checklists",
    tables=(insp_template_items,),
    reads=(TemplateVersionPublished,),
    changes=template_changes,
)
