"""Reading an entity's two halves (our own stream or a replica of another instance's), and keeping
each half's lookup row equal to its stream.

Each half of a task or highlight has one writer (``domain/ownership.py``): this instance's event store
holds the halves it writes, ``replica_events`` the halves other instances wrote. After a change to a
stream — a command here or a copied event — :func:`refresh` rewrites that stream's lookup row, and
only that one: a row never depends on the other half, so the command writer and the replica
consumer never write the same row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.checklists.adapters.tables import highlight_reviews, highlights, replica_events, task_work, tasks
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.domain import highlight as highlight_domain
from services.checklists.domain import ownership
from services.checklists.domain import task as task_domain
from shared.aggregate import fold
from shared.catalogue import decode_payload
from shared.catalogue import worklists as ev
from shared.envelope import Envelope
from shared.errors import NotFound
from shared.eventstore import RecordedEvent, Stream
from shared.projection import Upsert, apply_sql


async def load_any(conn: AsyncConnection, deps: ChecklistsDeps, stream_id: str) -> Stream:
    """A stream from our own log if we write it, else from the replicas (empty if neither has it)."""
    own = await deps.store.load(conn, stream_id)
    if own.version:
        return own
    rows = (await conn.execute(
        select(replica_events.c.envelope).where(replica_events.c.stream_id == stream_id)
        .order_by(replica_events.c.version)
    )).scalars().all()
    recorded = []
    for raw in rows:
        envelope = Envelope.from_json(raw)
        payload = decode_payload(envelope.type, envelope.schema_version, dict(envelope.data))
        recorded.append(RecordedEvent(position=0, envelope=envelope, payload=payload))
    if not recorded:
        return own
    last = recorded[-1].envelope
    return Stream(stream_id, last.stream_version, last.hash, recorded)


@dataclass(frozen=True)
class TaskHalves:
    """A task's two streams and its combined state."""

    issue: Stream
    work: Stream
    state: task_domain.Task


async def load_task(conn: AsyncConnection, deps: ChecklistsDeps, task_id: str) -> TaskHalves:
    """Both halves of a task known here; 404 if this instance has not heard of it."""
    issue = await load_any(conn, deps, task_domain.task_stream_id(task_id))
    work = await load_any(conn, deps, ownership.taskwork_stream_id(task_id))
    state = ownership.combined_task(issue.payloads, work.payloads)
    if state is None:
        if deps.is_issuer:
            raise NotFound(f"no task {task_id}")
        raise NotFound(f"no task {task_id} here: this checklists instance knows only the tasks of "
                       f"{', '.join(sorted(deps.served))}")
    return TaskHalves(issue, work, state)


@dataclass(frozen=True)
class HighlightHalves:
    """A highlight's two streams and its combined state."""

    submission: Stream
    review: Stream
    state: highlight_domain.Highlight


async def load_highlight(conn: AsyncConnection, deps: ChecklistsDeps, highlight_id: str) -> HighlightHalves:
    """Both halves of a highlight known here; 404 otherwise."""
    submission = await load_any(conn, deps, highlight_domain.highlight_stream_id(highlight_id))
    review = await load_any(conn, deps, ownership.highlight_review_stream_id(highlight_id))
    state = ownership.combined_highlight(submission.payloads, review.payloads)
    if state is None:
        raise NotFound(f"no highlight {highlight_id} here")
    return HighlightHalves(submission, review, state)


async def refresh(conn: AsyncConnection, deps: ChecklistsDeps, stream_id: str) -> None:
    """Rewrite the lookup row of the half of a task or highlight that ``stream_id`` holds."""
    kind, _, entity_id = stream_id.partition("-")
    stream = await load_any(conn, deps, stream_id)
    if not stream.events:
        return
    rewrite = {"task": _task_issue, "taskwork": _task_work, "highlight": _submission,
               "highlightreview": _review}.get(kind)
    if rewrite is not None:
        await apply_sql(conn, [rewrite(entity_id, stream)])


def _task_issue(task_id: str, stream: Stream) -> Upsert:
    state = fold(task_domain.evolve, stream.payloads)
    assert state is not None
    issued = next(p for p in stream.payloads if isinstance(p, ev.TaskIssued))
    cancelled = next((p for p in stream.payloads if isinstance(p, ev.TaskCancelled)), None)
    return Upsert(tasks, {"task_id": task_id}, {
        "list_id": state.list_id, "month": state.month, "issuer_department": state.issuer_department,
        "title": state.title, "description": issued.description,
        "responsible_department": state.responsible_department, "org_unit_code": state.org_unit_code,
        "assignee": state.assignee, "metric": state.metric, "unit": state.unit, "target_value": state.target_value,
        "complete_when_target_reached": state.complete_when_target_reached, "issued_on": state.issued_on,
        "deadline": state.deadline, "extensions": len(state.extensions),
        "cancelled_on": cancelled.cancelled_on if cancelled else None,
        "cancel_reason": cancelled.reason if cancelled else None, "issue_version": stream.version,
    })


def _task_work(task_id: str, stream: Stream) -> Upsert:
    reports = [p for p in stream.payloads if isinstance(p, ev.TaskProgressReported)]
    completed = next((p for p in stream.payloads if isinstance(p, ev.TaskCompleted)), None)
    return Upsert(task_work, {"task_id": task_id}, {
        "value_reached": reports[-1].value_reached if reports else 0.0,
        "last_reported_on": reports[-1].reported_on if reports else None,
        "completed_on": completed.completed_on if completed else None,
        "completed_how": completed.how if completed else None,
        "on_time": completed.on_time if completed else None, "work_version": stream.version,
    })


def _submission(highlight_id: str, stream: Stream) -> Upsert:
    submitted = next(p for p in stream.payloads if isinstance(p, ev.HighlightSubmitted))
    return Upsert(highlights, {"highlight_id": highlight_id}, {
        "department": submitted.department, "title": submitted.title, "description": submitted.description,
        "tags": json.dumps(submitted.tags, ensure_ascii=False),
        "evidence": json.dumps(submitted.evidence, ensure_ascii=False),
        "submitted_on": submitted.submitted_on, "submission_version": stream.version,
    })


def _review(highlight_id: str, stream: Stream) -> Upsert:
    values: dict[str, object] = {"reject_reason": None, "approved_on": None, "featured_on": None}
    for event in stream.payloads:
        if isinstance(event, ev.HighlightApproved):
            values.update(status="approved", approved_on=event.approved_on)
        elif isinstance(event, ev.HighlightRejected):
            values.update(status="rejected", reject_reason=event.reason)
        elif isinstance(event, ev.HighlightFeatured):
            values.update(status="featured", featured_on=event.featured_on)
    return Upsert(highlight_reviews, {"highlight_id": highlight_id}, {**values, "review_version": stream.version})
