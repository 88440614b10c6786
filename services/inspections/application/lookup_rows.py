"""The inspections service's aggregates and the lookup rows it keeps of its own streams.

The rows (``groups``, ``inspections``, ``rectifications``) are an inline projection: declared once
here, written by the repository in the transaction that saves the events (see
:mod:`shared.eventstore.repository`), never by a use case. ``ledger_counters`` is not a projection
but the sequence behind the printed ledger numbers; the rectification use cases keep it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from services.inspections.adapters.tables import groups, inspections, rectifications
from services.inspections.domain import group as group_domain
from services.inspections.domain import inspection as inspection_domain
from services.inspections.domain import rectification as rectification_domain
from shared.aggregate import Kind, prefixed
from shared.eventstore.lookup_check import inline_lookup
from shared.eventstore.repository import Change, InlineProjection
from shared.projection import Operation, Patch, Upsert

GROUP: Kind[group_domain.Group] = Kind("inspection group", prefixed("group"), group_domain.evolve)
INSPECTION: Kind[inspection_domain.Inspection] = Kind("inspection", prefixed("inspection"), inspection_domain.evolve)
RECTIFICATION: Kind[rectification_domain.Rectification] = Kind(
    "rectification", lambda rectification_id: rectification_id if rectification_id.startswith("rect-") else None,
    rectification_domain.evolve,
)
"""A ledger entry's id is its stream id (``rect-{finding id}``); any other id names none."""


def _group(change: Change) -> Sequence[Operation]:
    state: group_domain.Group = change.state
    values = {"version": change.version, "name": state.name, "leader": state.leader,
              "members": json.dumps(sorted(state.members)),
              "township_codes": json.dumps(sorted(state.township_codes)),
              "unit_codes": json.dumps(sorted(state.unit_codes))}
    key = {"group_id": state.group_id}
    return [Upsert(groups, key, values) if change.created else Patch(groups, key, values)]


def _inspection(change: Change) -> Sequence[Operation]:
    state: inspection_domain.Inspection = change.state
    values = {"version": change.version, "status": state.status, "started_on": state.started_on,
              "completed_on": state.completed_on, "score": state.score, "findings": len(state.findings)}
    key = {"inspection_id": state.inspection_id}
    if not change.created:
        return [Patch(inspections, key, values)]
    return [Upsert(inspections, key, {
        "group_id": state.group_id, "target_kind": state.target_kind, "target_code": state.target_code,
        "target_name": state.target_name, "township_code": state.township_code, "template_id": state.template_id,
        "template_version": state.template_version, "scheduled_on": state.scheduled_on, **values})]


def _rectification(change: Change) -> Sequence[Operation]:
    state: rectification_domain.Rectification = change.state
    values = {"version": change.version, "status": state.status, "deadline": state.deadline,
              "reported_on": state.reported_on, "closed_on": state.closed_on, "reopen_count": state.reopen_count}
    key = {"rectification_id": state.rectification_id}
    if not change.created:
        return [Patch(rectifications, key, values)]
    return [Upsert(rectifications, key, {
        "number": state.number, "finding_id": state.finding_id, "inspection_id": state.inspection_id,
        "group_id": state.group_id, "township_code": state.township_code,
        "responsible_unit": state.responsible_unit, "problem": state.problem, "measures": state.measures,
        "assigned_on": state.assigned_on, **values})]


LOOKUP_ROWS = InlineProjection({"group": _group, "inspection": _inspection, "rect": _rectification})
"""Every lookup row the inspections service keeps of its own streams."""


VERIFIED = (
    inline_lookup(LOOKUP_ROWS, groups, "group", "group", GROUP.evolve),
    inline_lookup(LOOKUP_ROWS, inspections, "inspection", "inspection", INSPECTION.evolve),
    inline_lookup(LOOKUP_ROWS, rectifications, "rectification", "rect", RECTIFICATION.evolve),
)
"""The lookup tables ``verify`` recomputes from the events, through :data:`LOOKUP_ROWS` itself
(``inspections.township_code`` and ``groups.members`` decide who may act where)."""
