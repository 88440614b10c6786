"""The ceiling of the commands benchmark: a route that does everything but the command.

``python -m bench.echo_service serve`` (port from ``QD_HTTP_PORT``) serves ``POST /persons`` the
way the registry does — uvicorn with the same defaults, FastAPI, a bearer token verified, the body
validated into the registry's own ``RegisterPerson`` model — and answers 201 without touching a
database. The same client against it measures what HTTP, FastAPI, auth and the client itself
cost on this machine: no registry can be faster than this.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI

from services.registry.application.commands import RegisterPerson
from shared.auth import CurrentPrincipal, TokenService
from shared.ids import new_id
from shared.testing.stack import TEST_SECRET


def build_app() -> FastAPI:
    """The echo app."""
    app = FastAPI(title="bench echo")
    app.state.tokens = TokenService(TEST_SECRET)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/persons", status_code=201)
    async def register(body: RegisterPerson, who: CurrentPrincipal) -> dict[str, Any]:
        return {"person_id": new_id(), "version": 1}

    return app


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: python -m bench.echo_service serve")
    uvicorn.run(build_app(), host="127.0.0.1", port=int(os.environ["QD_HTTP_PORT"]), log_level="warning",
                access_log=False)
