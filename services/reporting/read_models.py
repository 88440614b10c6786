"""Every projection the reporting service maintains, and the consumers that feed them."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections import audit as audit_models
from services.reporting.projections import certificates as certificate_models
from services.reporting.projections import coverage
from services.reporting.projections import highlights as highlight_models
from services.reporting.projections import inspection_results as inspection_models
from services.reporting.projections import plan_items as plan_item_models
from services.reporting.projections import rectifications as ledger_models
from services.reporting.projections import tasks as task_models
from shared.catalogue import EventPayload
from shared.envelope import Envelope
from shared.messaging.consumer import AfterCommit, DurableConsumer, Feed, Handler
from shared.projection import Projection, apply_sql
from shared.rebuild import consumer_name
from shared.runtime import ServiceRuntime

PROJECTIONS: dict[str, Projection] = {p.name: p for p in (coverage.COVERAGE,)}
SCHEMA: tuple[MetaData, ...] = (coverage.metadata,)
PROJECTIONS.update({p.name: p for p in (ledger_models.LEDGER, ledger_models.LEDGER_UNITS,
                                        inspection_models.INSPECTIONS, inspection_models.INSPECTION_TEMPLATES)})
SCHEMA += (ledger_models.metadata, inspection_models.metadata)
PROJECTIONS.update({p.name: p for p in (task_models.TASKS, highlight_models.HIGHLIGHTS)})
SCHEMA += (task_models.metadata, highlight_models.metadata)
PROJECTIONS.update({p.name: p for p in (plan_item_models.PLAN_ITEMS, *audit_models.AUDIT)})
SCHEMA += (plan_item_models.metadata, audit_models.metadata)
PROJECTIONS[certificate_models.CERTIFICATES.name] = certificate_models.CERTIFICATES
SCHEMA += (certificate_models.metadata,)


def _handler(projection: Projection) -> Handler:
    async def handle(conn: AsyncConnection, envelope: Envelope, payload: EventPayload) -> None:
        await apply_sql(conn, projection.changes(envelope, payload))
    return handle


def source_consumer(source_service: str) -> str:
    """The durable consumer of reporting that reads ``source_service``'s stream."""
    return f"reporting-from-{source_service}"


def attach_consumers(runtime: ServiceRuntime, after_commit: AfterCommit | None = None) -> None:
    """One durable consumer per source stream, feeding all that stream's read models in one
    transaction per batch; each read model keeps its own checkpoint, so each can be rebuilt alone."""
    settings = runtime.settings
    by_source: dict[str, list[Feed]] = {}
    for projection in PROJECTIONS.values():
        by_source.setdefault(projection.source_service, []).append(
            Feed(consumer_name(projection), _handler(projection), projection.event_types))
    for source, feeds in by_source.items():
        runtime.consumers.append(DurableConsumer(
            runtime.engine,
            nats_url=settings.nats_url,
            namespace=settings.namespace,
            source_service=source,
            name=source_consumer(source),
            feeds=feeds,
            after_commit=after_commit,
        ))
