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

from shared.auth import Principal, TokenService
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
