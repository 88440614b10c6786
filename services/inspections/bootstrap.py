"""Composition root of the inspections service: settings in, a ready app out."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from services.inspections.adapters.facts import FACTS
from services.inspections.adapters.tables import metadata
from services.inspections.application.deps import InspectionsDeps
from services.inspections.entrypoints.http import router
from services.inspections.settings import InspectionsSettings
from shared.catalogue import EventPayload
from shared.envelope import Envelope
from shared.http.app import create_app
from shared.http.history import history_router
from shared.messaging.asyncapi import asyncapi_document
from shared.messaging.consumer import DurableConsumer, Handler
from shared.projection import Projection, apply_sql
from shared.rebuild import consumer_name
from shared.runtime import ServiceRuntime

STREAM_TYPES = {"group", "inspection", "rectification"}
CONSUMER_PREFIX = "inspections"


def build_deps(runtime: ServiceRuntime) -> InspectionsDeps:
    """The use cases' dependencies."""
    return InspectionsDeps(store=runtime.store, today=date.today)


def _handler(projection: Projection) -> Handler:
    async def handle(conn: AsyncConnection, envelope: Envelope, payload: EventPayload) -> None:
        await apply_sql(conn, projection.changes(envelope, payload))
    return handle


def attach_consumers(runtime: ServiceRuntime) -> None:
    """One durable consumer per fact projection: checklists' templates, the registry's directory and persons."""
    settings = runtime.settings
    for projection in FACTS:
        runtime.consumers.append(DurableConsumer(
            runtime.engine,
            nats_url=settings.nats_url,
            namespace=settings.namespace,
            source_service=projection.source_service,
            name=consumer_name(projection, prefix=CONSUMER_PREFIX),
            handler=_handler(projection),
            event_types=projection.event_types,
        ))


def build_app(settings: InspectionsSettings | None = None) -> FastAPI:
    """The inspections HTTP app, its writer, relay, fact consumers and catalogue."""
    settings = settings or InspectionsSettings()
    runtime = ServiceRuntime.build(settings, schema=(metadata,))
    attach_consumers(runtime)

    def asyncapi() -> dict[str, Any]:
        return asyncapi_document(service="inspections", namespace=settings.namespace, nats_url=settings.nats_url,
                                 stream_types=STREAM_TYPES, title="Qingdan inspections events")

    app = create_app(
        runtime,
        title="Qingdan inspections",
        description="Inspection groups (督导组), inspections with their findings, and the rectification "
                    "ledger (整改台账) with re-check and close-out (复查销号).",
        routers=[router, history_router()],
        asyncapi=asyncapi,
    )
    app.state.deps = build_deps(runtime)
    return app
