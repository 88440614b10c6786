"""Composition root of the reporting service."""

from __future__ import annotations

from fastapi import FastAPI

from services.reporting.entrypoints.certificates_http import certificates_router
from services.reporting.entrypoints.http import router
from services.reporting.entrypoints.ledger_http import ledger_router
from services.reporting.entrypoints.pages import router as pages_router
from services.reporting.entrypoints.tasks_http import tasks_router
from services.reporting.entrypoints.week_http import week_router
from services.reporting.live import LiveHub, topics_by_event_type
from services.reporting.read_models import PROJECTIONS, SCHEMA
from services.reporting.rebuild_notices import RebuildListener
from services.reporting.settings import ReportingSettings
from shared.http.app import create_app
from shared.messaging.feeds import attach_projections
from shared.runtime import ServiceRuntime


def build_runtime(settings: ReportingSettings) -> ServiceRuntime:
    """Database and consumers; reporting publishes nothing."""
    return ServiceRuntime.build(settings, schema=SCHEMA, publishes=False)


def build_app(settings: ReportingSettings | None = None) -> FastAPI:
    """The reporting HTTP app with its live consumers."""
    settings = settings or ReportingSettings()
    runtime = build_runtime(settings)
    live = LiveHub(topics_by_event_type(PROJECTIONS.projections))  # dashboards: one hub feeds every open page
    attach_projections(runtime, PROJECTIONS, after_commit=live.committed)
    runtime.tasks.append(live.ticker)  # /health names it if it fails
    # A rebuild's swap brings no event: this listener empties the view cache when one is announced.
    rebuilds = RebuildListener(settings.nats_url, settings.namespace, PROJECTIONS.prefix, live.rebuilt)

    async def start() -> None:
        await live.start()
        await rebuilds.start()

    async def stop() -> None:
        await rebuilds.stop()
        await live.stop()

    app = create_app(
        runtime,
        title="Qingdan reporting",
        description="Read models over every service's events: coverage, overdue work, scoreboards.",
        routers=[router, ledger_router, tasks_router, certificates_router, week_router, pages_router],
        on_start=start,
        on_stop=stop,
    )
    app.state.live = live
    app.state.rebuilds = rebuilds
    return app
