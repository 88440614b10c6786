"""What this instance learns from events: the registry's departments, and the other half of its
tasks and highlights from the other checklists instances (``domain/ownership.py``).

Both are pure projections fed by durable consumers; the replica handler then rewrites the lookup row
of the half the copied event belongs to, in the same transaction as the checkpoint.
Durable consumer names carry this instance's department: every instance consumes the same streams,
and JetStream durable names are per stream.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from services.checklists.adapters.tables import departments, replica_events, task_lists
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.application.streams import refresh
from services.checklists.domain import ownership
from shared.catalogue import EventPayload
from shared.catalogue import worklists as ev
from shared.catalogue.people import DepartmentRegistered
from shared.envelope import Envelope
from shared.messaging.consumer import DurableConsumer, Handler
from shared.projection import Operation, Projection, Upsert, apply_sql
from shared.rebuild import consumer_name
from shared.runtime import ServiceRuntime


def _department_changes(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    if isinstance(event, DepartmentRegistered):
        return [Upsert(departments, {"code": event.code}, {"name": event.name})]
    return []


DEPARTMENTS = Projection(
    name="departments", source_service="registry", tables=(departments,),
    event_types=frozenset({"department.registered"}), changes=_department_changes,
)
"""Departments a task may be issued to, as the registry announces them."""


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

    return Projection(
        name="replica", source_service="checklists", tables=(replica_events,),
        event_types=ownership.ISSUER_TASK_EVENTS | ownership.WORK_TASK_EVENTS | ownership.REVIEW_EVENTS
        | ownership.SUBMISSION_EVENTS,
        changes=changes,
    )


async def _refresh(conn: AsyncConnection, deps: ChecklistsDeps, envelope: Envelope, event: EventPayload) -> None:
    if isinstance(event, ev.TaskListIssued):
        await apply_sql(conn, [Upsert(task_lists, {"list_id": event.list_id}, {
            "month": event.month, "title": event.title, "issuer_department": event.issuer_department,
            "issued_on": event.issued_on, "version": envelope.stream_version})])
    else:
        await refresh(conn, deps, envelope.stream_id)


def _replica_handler(deps: ChecklistsDeps, projection: Projection) -> Handler:
    async def handle(conn: AsyncConnection, envelope: Envelope, event: EventPayload) -> None:
        operations = projection.changes(envelope, event)
        if operations:
            await apply_sql(conn, operations)
            await _refresh(conn, deps, envelope, event)
    return handle


def _projection_handler(projection: Projection) -> Handler:
    async def handle(conn: AsyncConnection, envelope: Envelope, event: EventPayload) -> None:
        await apply_sql(conn, projection.changes(envelope, event))
    return handle


def attach_consumers(runtime: ServiceRuntime, deps: ChecklistsDeps) -> None:
    """The departments consumer (registry stream) and the replica consumer (checklists stream)."""
    settings = runtime.settings
    replica = replica_projection(deps)
    for projection, handler in ((DEPARTMENTS, _projection_handler(DEPARTMENTS)),
                                (replica, _replica_handler(deps, replica))):
        runtime.consumers.append(DurableConsumer(
            runtime.engine, nats_url=settings.nats_url, namespace=settings.namespace,
            source_service=projection.source_service,
            name=consumer_name(projection, prefix=f"checklists-{deps.department}"),
            handler=handler, event_types=projection.event_types,
        ))
