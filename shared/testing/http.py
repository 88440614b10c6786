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

from shared.access import ANY_ROLE, AccessTable
from shared.auth import Principal, Role, TokenService
from shared.runtime import ServiceRuntime
from shared.testing.usecases import principal


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
    return principal_bearer(app, Principal(staff_id=staff_id, department=department, roles=frozenset(roles),
                                           township_code=township_code))


def principal_bearer(app: FastAPI, principal: Principal) -> dict[str, str]:
    """The ``Authorization`` header of a token the app accepts for ``principal``."""
    tokens: TokenService = app.state.tokens
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


# -- every route of an app at once (its OpenAPI document) ----------------------------------------


def openapi_routes(app: FastAPI) -> set[str]:
    """Every route of the app's OpenAPI document, as ``"METHOD /path"``."""
    return {f"{method.upper()} {path}" for path, operations in app.openapi()["paths"].items()
            for method in operations}


def bounded_parameters(app: FastAPI) -> list[tuple[str, str, str]]:
    """``(method, path, parameter)`` of every query parameter named ``offset`` or ``today`` in the
    app's OpenAPI document: the ones :mod:`shared.http.bounds` must keep inside their range."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["name"] in ("offset", "today"):
                    found.append((method.upper(), path, parameter["name"]))
    return found


OUT_OF_RANGE = {"offset": [str(2**63), "-1"], "today": ["9999-12-28", "0001-01-02"]}
AT_THE_EDGE = {"offset": "1000000000", "today": "9998-12-31"}


async def out_of_range_answers(app: FastAPI, client: httpx.AsyncClient, who: Principal) -> list[str]:
    """Ask every bounded parameter of the app for values out of range (each must be 422) and at
    the edge of its range (never 5xx); the answers that were wrong, described."""
    wrong = []
    for method, path, name in bounded_parameters(app):
        url = path.replace("{", "").replace("}", "")  # path parameters: their own names as values
        for value in OUT_OF_RANGE[name]:
            response = await client.request(method, url, params={name: value}, headers=principal_bearer(app, who))
            if response.status_code != 422:
                wrong.append(f"{method} {path}?{name}={value}: {response.status_code}, expected 422")
        response = await client.request(method, url, params={name: AT_THE_EDGE[name]},
                                        headers=principal_bearer(app, who))
        if response.status_code >= 500:
            wrong.append(f"{method} {path}?{name}={AT_THE_EDGE[name]}: {response.status_code}")
    return wrong


PUBLIC_PATHS = OPERATIONS | {"/auth/dev-token"}
"""Routes every service answers without a token."""


async def anonymous_answers(app: FastAPI, client: httpx.AsyncClient) -> list[str]:
    """Call every route of the app's OpenAPI document without a token (path parameters: their own
    names, no body); every one but :data:`PUBLIC_PATHS` must answer 401. The wrong answers, described."""
    wrong = []
    for route in sorted(openapi_routes(app)):
        method, path = route.split(" ", 1)
        if path in PUBLIC_PATHS:
            continue
        response = await client.request(method, path.replace("{", "").replace("}", ""))
        if response.status_code != 401:
            wrong.append(f"{route} without a token: {response.status_code}")
    return wrong


async def read_answers_by_role(
    app: FastAPI, client: httpx.AsyncClient, staff: dict[Role, Principal], restricted: dict[str, set[Role]],
    *, streams: frozenset[str] = frozenset(),
) -> list[str]:
    """Call every ``GET`` route of the app's OpenAPI document as each member of ``staff``: a route in
    ``restricted`` must answer 403 to the roles it does not list, and every other answer must be
    neither 401/403 nor 5xx (404 and 422 are fine: path parameters get their own names as values).
    ``streams`` (server-sent events, which never end) are left out. The wrong answers, described."""
    wrong = []
    routes = sorted(r for r in openapi_routes(app) - streams
                    if r.startswith("GET ") and r.split(" ", 1)[1] not in PUBLIC_PATHS)
    unknown = set(restricted) - set(routes)
    if unknown:
        wrong.append(f"restricted routes the app does not serve: {sorted(unknown)}")
    for route in routes:
        path = route.split(" ", 1)[1].replace("{", "").replace("}", "")
        for role, who in staff.items():
            status = (await client.get(path, headers=principal_bearer(app, who))).status_code
            denied = route in restricted and role not in restricted[route]
            if (status != 403) if denied else (status in (401, 403) or status >= 500):
                wrong.append(f"{route} as {role.value}: {status}, expected {'403' if denied else 'an answer'}")
    return wrong


async def assert_route_bounds(app: FastAPI, table: AccessTable, *, streams: frozenset[str] = frozenset()) -> None:
    """A service's HTTP bounds, through its real app: every ``offset`` and ``today`` parameter answers
    422 out of range (never 500), no route answers without a token, every ``GET`` answers each role
    as ``table`` says (403 to the roles a rule leaves out; an answer to every other role), and the
    app does have such parameters (so the search finds them). ``streams`` as for
    :func:`read_answers_by_role`."""
    staff = {role: principal(f"{role.value}-1", role, township_code="511403100000") for role in Role}
    # The reads not open to every role, from the access table; every other read answers every role.
    restricted = {route: set(rule.roles) for rule in table.rules if rule.roles != ANY_ROLE
                  for route in rule.routes if route.startswith("GET ")}
    async with app_client(app) as client:
        assert await out_of_range_answers(app, client, principal("admin")) == []
        assert await anonymous_answers(app, client) == []
        assert await read_answers_by_role(app, client, staff, restricted, streams=streams) == []
    assert bounded_parameters(app)
