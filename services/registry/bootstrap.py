"""Composition root of the registry: settings in, a ready app out."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI

from services.registry.adapters.tables import metadata
from services.registry.application.commands import RegisterPerson
from services.registry.application.deps import RegistryDeps
from services.registry.entrypoints import catalogue_http, certificates_http, imports_http, survey_http
from services.registry.entrypoints.auth import router as auth_router
from services.registry.entrypoints.http import register, router
from services.registry.settings import RegistrySettings
from shared.auth import Principal, Role
from shared.http.app import create_app
from shared.http.fast_route import FastCommand
from shared.http.history import history_router
from shared.messaging.asyncapi import asyncapi_document
from shared.pii import PersonalDataVault
from shared.ratelimit import PerMinuteLimit
from shared.runtime import ServiceRuntime

SYSTEM = Principal(staff_id="system", name="Qingdan system", department="federation",
                   roles=frozenset({Role.FEDERATION_ADMIN}))
"""The actor of set-up commands run from the command line (first admin, demo data)."""

STREAM_TYPES = {"orgunit", "department", "staff", "person", "plan", "certificate", "surveyform", "service"}


def build_deps(settings: RegistrySettings, runtime: ServiceRuntime) -> RegistryDeps:
    """The use cases' dependencies for ``settings``."""
    return RegistryDeps(
        store=runtime.store,
        vault=PersonalDataVault(settings.load_master_key()),
        severe_rule=settings.severe_rule(),
        today=date.today,
        certificate_policy=settings.certificate_policy(),
        import_max_bytes=settings.import_max_bytes,
        lookups=PerMinuteLimit("lookup by certificate number", settings.lookups_per_minute),
    )


def build_app(settings: RegistrySettings | None = None) -> FastAPI:
    """The registry's HTTP app, its writer, relay and catalogue."""
    settings = settings or RegistrySettings()
    runtime = ServiceRuntime.build(settings, schema=(metadata,))
    deps = build_deps(settings, runtime)

    def asyncapi() -> dict[str, Any]:
        return asyncapi_document(service="registry", namespace=settings.namespace, nats_url=settings.nats_url,
                                 stream_types=STREAM_TYPES, title="Qingdan registry events")

    app = create_app(
        runtime,
        title="Qingdan registry",
        description="Register of persons with disabilities, home visits and personal plans (一人一策).",
        routers=[router, auth_router, certificates_http.router, imports_http.router, survey_http.router,
                 catalogue_http.router,
                 history_router()],
        asyncapi=asyncapi,
    )
    app.state.deps = deps
    # Registrations come in thousands (an import by hand, a district's backlog): the plain case
    # skips FastAPI's routing and dependency solving; every other case goes through the route.
    app.add_middleware(FastCommand, method="POST", path="/persons", model=RegisterPerson, handle=register)
    app.state.dev_tokens = settings.dev_tokens and settings.mode == "development"
    app.state.dev_token_ttl = timedelta(hours=settings.dev_token_hours)
    app.state.sign_in = settings.sign_in_policy()
    # Per address as well as per account: one address trying many accounts locks none of them.
    app.state.sign_in_attempts = PerMinuteLimit("signing in from one address",
                                                settings.sign_ins_per_minute_per_address)
    return app
