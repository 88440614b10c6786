"""Composition root of the reporting service."""

from __future__ import annotations

from fastapi import FastAPI

from services.reporting.entrypoints.http import router
from services.reporting.read_models import SCHEMA, attach_consumers
from services.reporting.settings import ReportingSettings
from shared.http.app import create_app
from shared.runtime import ServiceRuntime


def build_runtime(settings: ReportingSettings) -> ServiceRuntime:
    """Database and consumers; reporting publishes nothing."""
    return ServiceRuntime.build(settings, schema=SCHEMA, publishes=False)


def build_app(settings: ReportingSettings | None = None) -> FastAPI:
    """The reporting HTTP app with its live consumers."""
    settings = settings or ReportingSettings()
    runtime = build_runtime(settings)
    attach_consumers(runtime)
    return create_app(
        runtime,
        title="Qingdan reporting",
        description="Read models over every service's events: coverage, overdue work, scoreboards.",
        routers=[router],
    )
