"""Composition root of the inspections service: settings in, a ready app out."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from services.inspections.adapters.tables import metadata
from services.inspections.application import person_texts
from services.inspections.application.deps import InspectionsDeps
from services.inspections.entrypoints.http import router
from services.inspections.projections import PROJECTIONS
from services.inspections.settings import InspectionsSettings
from shared.catalogue import EventPayload
from shared.catalogue.people import PersonalDataErased
from shared.envelope import Envelope
from shared.http.app import create_app
from shared.http.history import history_router
from shared.messaging.asyncapi import asyncapi_document
from shared.messaging.consumer import DurableConsumer
from shared.messaging.feeds import attach_projections
from shared.pii import PersonalDataVault
from shared.runtime import ServiceRuntime

STREAM_TYPES = {"group", "inspection", "rectification"}


def build_deps(runtime: ServiceRuntime) -> InspectionsDeps:
    """The use cases' dependencies (the vault holds the master key: texts about persons are sealed)."""
    return InspectionsDeps(store=runtime.store, today=date.today,
                           vault=PersonalDataVault(runtime.settings.load_master_key()))


async def _on_erasure(conn: AsyncConnection, envelope: Envelope, payload: EventPayload) -> None:
    # Not a read model (nothing to rebuild): the registry erased a person, so their key here goes too.
    if isinstance(payload, PersonalDataErased):
        await person_texts.destroy_key(conn, payload.person_id, envelope.time)


def attach_consumers(runtime: ServiceRuntime) -> None:
    """The fact projections (one durable consumer per source stream, ``PROJECTIONS``), and one
    consumer that destroys a person's key here when the registry erases them."""
    settings = runtime.settings
    attach_projections(runtime, PROJECTIONS)
    runtime.consumers.append(DurableConsumer(
        runtime.engine, nats_url=settings.nats_url, namespace=settings.namespace, source_service="registry",
        name=f"{PROJECTIONS.prefix}-erasures", handler=_on_erasure, event_types={"person.personal_data_erased"},
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
