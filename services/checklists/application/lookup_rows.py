"""The checklists instance's aggregates and the lookup rows it keeps of its streams.

The rows are an inline projection, declared once here: the repository writes them in the
transaction that saves a command's events (see :mod:`shared.eventstore.repository`), and the replica
consumer writes the same rows for the halves other instances write (``streams.refresh``). A row of
a task or highlight depends on one half only, so the two writers never write the same row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from services.checklists.adapters.tables import (
    highlight_reviews,
    highlights,
    publicity,
    replica_events,
    task_lists,
    task_work,
    tasks,
    templates,
)
from services.checklists.domain import publicity as publicity_domain
from services.checklists.domain import task as task_domain
from services.checklists.domain import template as template_domain
from shared.aggregate import Kind, fold, prefixed
from shared.catalogue import worklists as ev
from shared.eventstore.lookup_check import LookupRows, inline_lookup
from shared.eventstore.repository import Change, InlineProjection
from shared.projection import Operation, Upsert

TEMPLATE: Kind[template_domain.Template] = Kind("template", prefixed("template"), template_domain.evolve)
PUBLICITY: Kind[publicity_domain.PublicityItem] = Kind(
    "publicity item", prefixed("publicity"), publicity_domain.evolve)
TASK_ISSUE: Kind[task_domain.Task] = Kind("task", prefixed("task"), task_domain.evolve)
"""The issuer's half of a task (``task-{id}``), folded alone; the task as a whole is both halves."""
TASK_LIST: Kind[task_domain.TaskList] = Kind("task list", lambda list_id: list_id, task_domain.evolve_list)
"""A task list's entity id is its stream id (``task_domain.tasklist_stream_id``)."""


def _task_list(change: Change) -> Sequence[Operation]:
    issued = next(e for e in change.history if isinstance(e, ev.TaskListIssued))
    return [Upsert(task_lists, {"list_id": issued.list_id}, {
        "month": issued.month, "title": issued.title, "issuer_department": issued.issuer_department,
        "issued_on": issued.issued_on, "version": change.version})]


def _task_issue(change: Change) -> Sequence[Operation]:
    history = change.history
    state = fold(task_domain.evolve, history) if change.state is None else change.state  # a replica: no state
    assert isinstance(state, task_domain.Task)
    issued = next(p for p in history if isinstance(p, ev.TaskIssued))
    cancelled = next((p for p in history if isinstance(p, ev.TaskCancelled)), None)
    return [Upsert(tasks, {"task_id": change.entity_id}, {
        "list_id": state.list_id, "month": state.month, "issuer_department": state.issuer_department,
        "title": state.title, "description": issued.description,
        "responsible_department": state.responsible_department, "org_unit_code": state.org_unit_code,
        "assignee": state.assignee, "metric": state.metric, "unit": state.unit, "target_value": state.target_value,
        "complete_when_target_reached": state.complete_when_target_reached, "issued_on": state.issued_on,
        "deadline": state.deadline, "extensions": len(state.extensions),
        "cancelled_on": cancelled.cancelled_on if cancelled else None,
        "cancel_reason": cancelled.reason if cancelled else None, "issue_version": change.version,
    })]


def _task_work(change: Change) -> Sequence[Operation]:
    history = change.history
    reports = [p for p in history if isinstance(p, ev.TaskProgressReported)]
    completed = next((p for p in history if isinstance(p, ev.TaskCompleted)), None)
    return [Upsert(task_work, {"task_id": change.entity_id}, {
        "value_reached": reports[-1].value_reached if reports else 0.0,
        "last_reported_on": reports[-1].reported_on if reports else None,
        "completed_on": completed.completed_on if completed else None,
        "completed_how": completed.how if completed else None,
        "on_time": completed.on_time if completed else None, "work_version": change.version,
    })]


def _submission(change: Change) -> Sequence[Operation]:
    submitted = next(p for p in change.history if isinstance(p, ev.HighlightSubmitted))
    return [Upsert(highlights, {"highlight_id": change.entity_id}, {
        "department": submitted.department, "title": submitted.title, "description": submitted.description,
        "tags": json.dumps(submitted.tags, ensure_ascii=False),
        "evidence": json.dumps(submitted.evidence, ensure_ascii=False),
        "submitted_on": submitted.submitted_on, "submission_version": change.version,
    })]


def _review(change: Change) -> Sequence[Operation]:
    values: dict[str, object] = {"reject_reason": None, "approved_on": None, "featured_on": None}
    for event in change.history:
        if isinstance(event, ev.HighlightApproved):
            values.update(status="approved", approved_on=event.approved_on)
        elif isinstance(event, ev.HighlightRejected):
            values.update(status="rejected", reject_reason=event.reason)
        elif isinstance(event, ev.HighlightFeatured):
            values.update(status="featured", featured_on=event.featured_on)
    return [Upsert(highlight_reviews, {"highlight_id": change.entity_id},
                   {**values, "review_version": change.version})]


def _template(change: Change) -> Sequence[Operation]:
    state = fold(template_domain.evolve, change.history) if change.state is None else change.state
    assert isinstance(state, template_domain.Template)
    current, draft = state.current, state.draft
    return [Upsert(templates, {"template_id": state.template_id}, {
        "title": current.title if current else draft.title if draft else "",
        "current_version": current.version if current else None,
        "draft_version": draft.version if draft else None,
        "items": len(current.items) if current else len(draft.items) if draft else 0,
        "published_on": current.published_on if current else None, "version": change.version,
    })]


def _publicity(change: Change) -> Sequence[Operation]:
    listed = next(e for e in change.history if isinstance(e, ev.PublicityItemListed))
    withdrawn = next((e for e in change.history if isinstance(e, ev.PublicityItemWithdrawn)), None)
    return [Upsert(publicity, {"item_id": listed.item_id}, {
        "department": listed.department, "title": listed.title, "channel": listed.channel,
        "published_on": listed.published_on, "highlight_id": listed.highlight_id, "url": listed.url,
        "withdrawn": withdrawn is not None, "withdraw_reason": withdrawn.reason if withdrawn else None,
        "version": change.version})]


LOOKUP_ROWS = InlineProjection({
    "tasklist": _task_list, "task": _task_issue, "taskwork": _task_work, "highlight": _submission,
    "highlightreview": _review, "template": _template, "publicity": _publicity,
})
"""Every lookup row a checklists instance keeps, by stream kind (the stream id's prefix)."""


def _verified() -> tuple[LookupRows, ...]:
    """Every lookup table ``verify`` recomputes from the events, through :data:`LOOKUP_ROWS` itself;
    the replicated halves of other instances from their copies in ``replica_events``."""
    by_kind = ((task_lists, "tasklist", "tasklist", TASK_LIST.evolve), (tasks, "task", "task", TASK_ISSUE.evolve),
               (task_work, "task", "taskwork", None), (highlights, "highlight", "highlight", None),
               (highlight_reviews, "highlight", "highlightreview", None),
               (templates, "template", "template", TEMPLATE.evolve),
               (publicity, "publicity", "publicity", PUBLICITY.evolve))
    return tuple(inline_lookup(LOOKUP_ROWS, table, stream_type, kind, evolve, replicas=replica_events)
                 for table, stream_type, kind, evolve in by_kind)


VERIFIED = _verified()
