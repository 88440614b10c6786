"""The fast path of a hot command route answers the plain case itself and hands every other request,
body intact, to the framework's route (whose answers, errors included, are unchanged)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

from shared.auth import CurrentPrincipal, Principal, Role, TokenService
from shared.commands import Command
from shared.errors import AlreadyExists, QingdanError
from shared.http.errors import domain_error_response
from shared.http.fast_route import FastCommand

SECRET = "s" * 40


class Thing(Command):
    name: str = Field(min_length=1, max_length=5)


class Made(BaseModel):
    name: str
    by: str


async def make(_request: Request, who: Principal, body: Thing) -> Made:
    if body.name == "taken":
        raise AlreadyExists("a thing of that name exists")
    return Made(name=body.name, by=who.staff_id)


def build() -> tuple[FastAPI, list[str]]:
    """An app with ``POST /things`` behind the fast path; ``calls`` says which path ran the handler."""
    calls: list[str] = []
    app = FastAPI()
    app.state.tokens = TokenService(SECRET)

    async def traced(request: Request, who: Principal, body: Thing) -> Made:
        calls.append("fast")
        return await make(request, who, body)

    @app.exception_handler(QingdanError)
    async def domain_error(_request: Request, exc: QingdanError) -> object:
        return domain_error_response(exc)

    @app.post("/things", status_code=201)
    async def post_thing(body: Thing, request: Request, who: CurrentPrincipal) -> Made:
        calls.append("route")
        return await make(request, who, body)

    app.add_middleware(FastCommand, method="POST", path="/things", model=Thing, handle=traced)
    return app, calls


def token(app: FastAPI) -> dict[str, str]:
    tokens: TokenService = app.state.tokens
    who = Principal(staff_id="admin", department="federation", roles=frozenset({Role.FEDERATION_ADMIN}))
    return {"Authorization": f"Bearer {tokens.issue(who)}"}


@pytest.fixture
async def served() -> AsyncIterator[tuple[FastAPI, list[str], httpx.AsyncClient]]:
    app, calls = build()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield app, calls, client


async def test_the_plain_case_is_answered_by_the_fast_path_as_the_route_would(
        served: tuple[FastAPI, list[str], httpx.AsyncClient]) -> None:
    app, calls, client = served
    fast = await client.post("/things", json={"name": " ab "}, headers=token(app))
    routed = await client.post("/things", json={"name": " ab "}, headers={**token(app), "Origin": "http://x"})
    assert calls == ["fast", "route"]
    assert fast.status_code == routed.status_code == 201
    assert fast.json() == routed.json() == {"name": "ab", "by": "admin"}  # stripped, as the route's model does
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert int(fast.headers["content-length"]) == len(fast.content)


async def test_a_domain_error_on_the_fast_path_is_the_route_s_answer(
        served: tuple[FastAPI, list[str], httpx.AsyncClient]) -> None:
    app, calls, client = served
    fast = await client.post("/things", json={"name": "taken"}, headers=token(app))
    routed = await client.post("/things", json={"name": "taken"}, headers={**token(app), "Origin": "http://x"})
    assert calls == ["fast", "route"]
    assert fast.status_code == routed.status_code == 409
    assert fast.json() == routed.json() == {"error": "already_exists", "message": "a thing of that name exists"}


@pytest.mark.parametrize("case", ["invalid body", "unknown field", "not json", "no token", "forged token",
                                  "not a bearer", "text body", "too large"])
async def test_anything_but_the_plain_case_goes_to_the_route_with_its_body(
        served: tuple[FastAPI, list[str], httpx.AsyncClient], case: str) -> None:
    app, calls, client = served
    headers = token(app)
    content = b'{"name": "ab"}'
    content_type = "application/json"
    expected = 201
    if case == "invalid body":
        content, expected = b'{"name": "abcdefgh"}', 422
    elif case == "unknown field":
        content, expected = b'{"name": "ab", "colour": "red"}', 422
    elif case == "not json":
        content, expected = b'{"name": NaN', 422
    elif case == "no token":
        headers, expected = {}, 401
    elif case == "forged token":
        headers, expected = {"Authorization": "Bearer forged"}, 401
    elif case == "not a bearer":
        headers, expected = {"Authorization": "Basic YTpi"}, 401
    elif case == "text body":
        content_type = "text/plain"  # FastAPI's own rules apply: it parses no JSON out of it
        expected = 422
    elif case == "too large":
        content = b'{"name": "ab", "pad": "' + b"x" * 70_000 + b'"}'
        expected = 422  # the route, not the fast path, refuses the unknown field
    response = await client.post("/things", content=content, headers={**headers, "Content-Type": content_type})
    assert response.status_code == expected, response.text
    assert "fast" not in calls
    if expected == 201:
        assert calls == ["route"]
