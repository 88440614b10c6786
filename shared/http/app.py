"""Build a service's FastAPI app with the same errors, health, metrics and catalogue everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.auth import TokenService
from shared.errors import QingdanError
from shared.http.errors import domain_error_response
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings
from shared.staff import StaffDirectory

log = structlog.get_logger(__name__)

Hook = Callable[[], Awaitable[None]]


def create_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: list[APIRouter],
    asyncapi: Callable[[], dict[str, Any]] | None = None,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
) -> FastAPI:
    """A FastAPI app for ``runtime``: routes, error mapping, /health, /metrics, /asyncapi.json, offline /docs."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if on_start is not None:
            await on_start()
        log.info("service started", service=runtime.settings.service, port=runtime.settings.http_port)
        try:
            yield
        finally:
            if on_stop is not None:
                await on_stop()
            await runtime.stop()

    # /docs and /redoc load Swagger UI and ReDoc from the package (/static-offline-docs), not from a
    # CDN: the services run on intranets without internet access.
    # FastAPI's native OpenTelemetry is off: nothing here configures a provider, and the check
    # that none is (an environment lookup per provider per request) cost a few per cent of a
    # command's CPU. Metrics are Prometheus (/metrics), logs structlog.
    app = FastAPIOffline(title=title, description=description, version="1.0", lifespan=lifespan,
                         telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.runtime = runtime
    _install_cors(app, runtime.settings)
    app.state.tokens = TokenService(runtime.settings.effective_auth_secret(),
                                    ttl=timedelta(minutes=runtime.settings.access_token_minutes))
    if runtime.settings.auth_staff_check:
        app.state.staff_directory = StaffDirectory(runtime.engine)
    for router in routers:
        app.include_router(router)
    _install_error_handlers(app)

    @app.get("/health", tags=["operations"], summary="Liveness and readiness")
    async def health() -> JSONResponse:
        report = await runtime.health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if asyncapi is not None:
        spec = asyncapi

        @app.get("/asyncapi.json", tags=["operations"], summary="The events this service publishes (AsyncAPI 3)")
        async def asyncapi_document() -> dict[str, Any]:
            return spec()

    return app


def _install_cors(app: FastAPI, settings: ServiceSettings) -> None:
    """Let the dashboards (served by reporting on another port) call this service from the browser.

    Only the origins listed in ``QD_CORS_ORIGINS`` may, in development too: the embedded launcher
    lists its own services' origins, so another page on the same machine cannot call the APIs with
    a token it has obtained.
    """
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type"])


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QingdanError)
    async def domain_error(_request: Request, exc: QingdanError) -> JSONResponse:
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in err["loc"] if p != "body"), "message": err["msg"]}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{e['field'] or 'request'}: {e['message']}" for e in errors)
        return JSONResponse({"error": "invalid", "message": summary, "errors": errors}, status_code=422)
