"""Drive a real service app in-process: httpx over ASGI, its writer running, no NATS.

The runtime's relay and consumers are not started (their events wait in the outbox), so route
tests need no server; everything else (database, single writer, auth, error mapping) is the app
as it runs in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from shared.auth import Principal, Role, TokenService
from shared.runtime import ServiceRuntime


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client bound to ``app``, with the app's writer started and its NATS workers not."""
    runtime: ServiceRuntime = app.state.runtime
    runtime.relay = None
    runtime.consumers = []
    await runtime.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://asgi") as client:
            yield client
    finally:
        await runtime.stop()


def bearer(app: FastAPI, principal: Principal) -> dict[str, str]:
    """The ``Authorization`` header of a token the app accepts for ``principal``."""
    tokens: TokenService = app.state.tokens
    return {"Authorization": f"Bearer {tokens.issue(principal)}"}


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
            response = await client.request(method, url, params={name: value}, headers=bearer(app, who))
            if response.status_code != 422:
                wrong.append(f"{method} {path}?{name}={value}: {response.status_code}, expected 422")
        response = await client.request(method, url, params={name: AT_THE_EDGE[name]}, headers=bearer(app, who))
        if response.status_code >= 500:
            wrong.append(f"{method} {path}?{name}={AT_THE_EDGE[name]}: {response.status_code}")
    return wrong


PUBLIC_PATHS = frozenset({"/health", "/metrics", "/asyncapi.json", "/auth/dev-token"})
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
            status = (await client.get(path, headers=bearer(app, who))).status_code
            denied = route in restricted and role not in restricted[route]
            if (status != 403) if denied else (status in (401, 403) or status >= 500):
                wrong.append(f"{route} as {role.value}: {status}, expected {'403' if denied else 'an answer'}")
    return wrong
