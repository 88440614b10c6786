"""The other half of this instance's tasks and highlights, copied from the other checklists instances.

A task or highlight is split in two streams with one writer each (``domain/ownership.py``); this
projection keeps, in ``replica_events``, the other instances' events about the work this instance
serves. Its follow-up then rewrites the lookup row of the half the copied event belongs to, in the
same transaction as the checkpoint (and, after a rebuild, every such row).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.checklists.adapters.tables import replica_events, task_lists
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.application.streams import refresh
from services.checklists.domain import ownership
from shared.catalogue import EventPayload, payload_class
from shared.catalogue import worklists as ev
from shared.envelope import Envelope
from shared.messaging.feeds import FollowUp
from shared.projection import Operation, Projection, Upsert, apply_sql

NAME = "replica"

REPLICATED = tuple(payload_class(t) for t in sorted(
    ownership.ISSUER_TASK_EVENTS | ownership.WORK_TASK_EVENTS | ownership.REVIEW_EVENTS | ownership.SUBMISSION_EVENTS))
"""The payloads one instance may copy from another: the domain's ownership rule names them."""


def subject_department(event: EventPayload) -> str:
    """The department an event is about: a task's responsible one, a highlight's, a list's issuer."""
    if isinstance(event, ev.TaskListIssued):
        return event.issuer_department
    for name in ("responsible_department", "department"):
        value = getattr(event, name, None)
        if isinstance(value, str):
            return value
    return ""


def replica_projection(deps: ChecklistsDeps) -> Projection:
    """Copies of the other instances' events about the work this instance serves."""
    def changes(envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
        if not ownership.must_replicate(envelope.type, envelope.department, subject_department(event),
                                        own_department=deps.department, served=deps.served,
                                        issuer_department=deps.issuer_department):
            return []
        return [Upsert(replica_events, {"stream_id": envelope.stream_id, "version": envelope.stream_version}, {
            "event_id": envelope.id, "event_type": envelope.type, "department": envelope.department,
            "envelope": envelope.to_json().decode()})]

    return Projection(name=NAME, source_service="checklists", tables=(replica_events,), reads=REPLICATED,
                      changes=changes)


async def _list_issued(conn: AsyncConnection, envelope: Envelope, event: ev.TaskListIssued) -> None:
    await apply_sql(conn, [Upsert(task_lists, {"list_id": event.list_id}, {
        "month": event.month, "title": event.title, "issuer_department": event.issuer_department,
        "issued_on": event.issued_on, "version": envelope.stream_version})])


def replica_follow_up(deps: ChecklistsDeps) -> FollowUp:
    """Keep each copied half's lookup row equal to its copied stream."""
    async def on_change(conn: AsyncConnection, envelope: Envelope, event: EventPayload) -> None:
        if isinstance(event, ev.TaskListIssued):
            await _list_issued(conn, envelope, event)
        else:
            await refresh(conn, deps, envelope.stream_id)

    async def after_replace(conn: AsyncConnection) -> None:
        # The copied streams were replaced as a whole: rewrite the lookup row of every one.
        rows = await conn.execute(select(replica_events.c.envelope).where(
            replica_events.c.event_type == ev.TaskListIssued.event_type))
        for raw in list(rows.scalars()):
            envelope = Envelope.from_json(raw)
            await _list_issued(conn, envelope, ev.TaskListIssued.model_validate(envelope.data))
        streams = await conn.execute(select(replica_events.c.stream_id).distinct().where(
            replica_events.c.event_type != ev.TaskListIssued.event_type))
        for stream_id in list(streams.scalars()):
            await refresh(conn, deps, stream_id)

    return FollowUp(on_change=on_change, after_replace=after_replace)
