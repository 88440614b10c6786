"""Route tests in-process: a service's real FastAPI app over a real database, called through httpx.

The app is the one ``bootstrap.build_app`` returns; only its background workers are left out (the
outbox relay and the durable consumers, which need NATS), so that a route test exercises the
routes, the dependencies, the single writer, the event store and the response models, and nothing
waits on a server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from shared.auth import Principal, Role, TokenService
from shared.runtime import ServiceRuntime


@asynccontextmanager
async def app_client(app: FastAPI, *, staff_check: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    """Start ``app`` without relay or consumers (schema, writer, start hooks) and yield a client calling it.

    ``staff_check``: keep the staff directory's check of every token (off by default: with no
    consumer nothing feeds the directory, and route tests sign with made-up staff, see ``bearer``).
    """
    runtime: ServiceRuntime = app.state.runtime
    # The relay and consumers would only retry connecting to NATS; commands still commit their outbox rows.
    runtime.relay = None
    runtime.consumers.clear()
    if not staff_check:
        app.state.staff_directory = None
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
            yield client


def bearer(
    app: FastAPI, staff_id: str, *roles: Role, department: str = "federation", township_code: str | None = None
) -> dict[str, str]:
    """An ``Authorization`` header for a member of staff with ``roles``, signed with the app's secret."""
    tokens: TokenService = app.state.tokens
    principal = Principal(staff_id=staff_id, department=department, roles=frozenset(roles),
                          township_code=township_code)
    return {"Authorization": f"Bearer {tokens.issue(principal)}"}


def error_of(response: httpx.Response) -> tuple[int, str, str | None]:
    """``(status, error code, field)`` of an error response: what a route test asserts, never the prose."""
    body = response.json()
    return response.status_code, body["error"], body.get("field")


def invalid_fields(response: httpx.Response) -> set[str]:
    """The fields a 422 request-validation error names (``errors[].field``)."""
    assert response.status_code == 422, response.text
    body = response.json()
    fields = {e["field"] for e in body.get("errors", [])}
    if body.get("field"):
        fields.add(body["field"])
    return fields


OPERATIONS = frozenset({"/health", "/metrics", "/asyncapi.json"})
"""The operational routes every service has, which return no model of ours."""


def undocumented_responses(app: FastAPI, *, except_paths: frozenset[str] = OPERATIONS) -> list[str]:
    """Operations whose success response ``/docs`` shows without a model (``METHOD path``).

    A JSON route should declare a response model (or a list of one): ``Any`` or a free-form
    ``dict`` counts as undocumented. ``except_paths`` names routes that return something else
    (files, HTML, event streams, documents in a format of their own).
    """
    missing = []
    for path, operations in app.openapi()["paths"].items():
        if path in except_paths:
            continue
        for method, operation in operations.items():
            responses: dict[str, dict[str, Any]] = operation["responses"]
            success = next((r for code, r in responses.items() if code.startswith("2")), {})
            schema = success.get("content", {}).get("application/json", {}).get("schema", {})
            if not _is_model(schema):
                missing.append(f"{method.upper()} {path}")
    return missing


def _is_model(schema: dict[str, Any]) -> bool:
    """A model, a list of one, or a choice between such (``anyOf``)."""
    if "anyOf" in schema:
        return all(_is_model(choice) for choice in schema["anyOf"])
    return "$ref" in schema or "$ref" in schema.get("items", {})
