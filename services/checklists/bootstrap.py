"""Composition root of a checklists instance: settings in, a ready app out."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI

from services.checklists.adapters.tables import metadata
from services.checklists.application.deps import ChecklistsDeps
from services.checklists.entrypoints.http import router
from services.checklists.projections import projection_set
from services.checklists.settings import ChecklistsSettings
from shared.http.app import create_app
from shared.http.history import history_router
from shared.messaging.asyncapi import asyncapi_document
from shared.messaging.feeds import attach_projections
from shared.runtime import ServiceRuntime

STREAM_TYPES = {"tasklist", "task", "template", "highlight", "publicity"}


def build_deps(settings: ChecklistsSettings, runtime: ServiceRuntime) -> ChecklistsDeps:
    """The use cases' dependencies for ``settings``."""
    return ChecklistsDeps(store=runtime.store, issuer_department=settings.issuer_department,
                          served=settings.served(), today=date.today)


def build_runtime(settings: ChecklistsSettings, *, publishes: bool = True) -> ServiceRuntime:
    """Database, writer and relay of this instance."""
    return ServiceRuntime.build(settings, schema=(metadata,), publishes=publishes)


def build_app(settings: ChecklistsSettings | None = None) -> FastAPI:
    """The instance's HTTP app, its writer, relay, consumers and catalogue."""
    settings = settings or ChecklistsSettings()
    runtime = build_runtime(settings)
    deps = build_deps(settings, runtime)
    attach_projections(runtime, projection_set(deps))

    def asyncapi() -> dict[str, Any]:
        return asyncapi_document(service="checklists", namespace=settings.namespace, nats_url=settings.nats_url,
                                 stream_types=STREAM_TYPES, title="Qingdan checklists events")

    role = "issues task lists and templates, reviews highlights" if deps.is_issuer else (
        f"reports on the tasks the {settings.issuer_department} issues to it")
    app = create_app(
        runtime,
        title=f"Qingdan checklists ({settings.department})",
        description=f"Responsibility checklists (工作责任清单), inspection templates (检查指导清单), highlights "
                    f"(特色亮点清单) and publicity. This instance serves {', '.join(sorted(deps.served))} and {role}.",
        routers=[router, history_router()],
        asyncapi=asyncapi,
    )
    app.state.deps = deps
    return app
