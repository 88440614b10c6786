"""Composition root of the inspections service: settings in, a ready app out."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI

from services.inspections.adapters.tables import metadata
from services.inspections.application.deps import InspectionsDeps
from services.inspections.entrypoints.http import router
from services.inspections.projections import PROJECTIONS
from services.inspections.settings import InspectionsSettings
from shared.http.app import create_app
from shared.http.history import history_router
from shared.messaging.asyncapi import asyncapi_document
from shared.messaging.feeds import attach_projections
from shared.runtime import ServiceRuntime

STREAM_TYPES = {"group", "inspection", "rectification"}


def build_deps(runtime: ServiceRuntime) -> InspectionsDeps:
    """The use cases' dependencies."""
    return InspectionsDeps(store=runtime.store, today=date.today)


def build_app(settings: InspectionsSettings | None = None) -> FastAPI:
    """The inspections HTTP app, its writer, relay, fact consumers and catalogue."""
    settings = settings or InspectionsSettings()
    runtime = ServiceRuntime.build(settings, schema=(metadata,))
    attach_projections(runtime, PROJECTIONS)

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
