"""Every route of a service against every role, the expected answers from its access table.

The service's test gives, per route, how to make a request that succeeds when allowed (a
:class:`Cell`, made afresh for every role so that one role's change never decides another's
answer), the principals (one per role, meeting every row's condition), and the table's verdict;
:func:`unlisted_routes` makes sure that every route of the app's OpenAPI document has a row and a
cell, and :func:`answers_by_role` calls each route without a token (401) and as each role (the
cell's success status, or 403).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from shared.auth import Principal, Role
from shared.testing.http import openapi_routes, principal_bearer


@dataclass
class Cell:
    """One request: its path (with query), JSON body or uploaded file, and its status when allowed."""

    path: str
    body: dict[str, Any] | None = None
    success: int = 200
    upload: bytes | None = None
    """A file sent as the request body (``text/csv``) instead of JSON."""
    headers: dict[str, str] = field(default_factory=dict)


MakeCell = Callable[[], Awaitable[Cell]]
"""Makes the entities a request needs, fresh each time, and returns the request."""


def fixed(path: str, body: dict[str, Any] | None = None, success: int = 200) -> MakeCell:
    """A request that needs nothing made first (a read, or a create with a fresh id in ``body``)."""
    async def make() -> Cell:
        return Cell(path, body, success)
    return make


async def send(app: FastAPI, client: httpx.AsyncClient, who: Principal | None, method: str,
               cell: Cell) -> httpx.Response:
    """Send ``cell`` as ``who`` (``None``: without a token)."""
    headers = {**(principal_bearer(app, who) if who else {}), **cell.headers}
    if cell.upload is not None:
        return await client.request(method, cell.path, content=cell.upload,
                                    headers={**headers, "content-type": "text/csv"})
    return await client.request(method, cell.path, json=cell.body, headers=headers)


def unlisted_routes(app: FastAPI, documented: set[str], cells: Mapping[str, object], *,
                    public: set[str], uncalled: set[str] | None = None) -> list[str]:
    """What is wrong between the app's routes, its access table and the test's cells, described:
    a served route with no row, a row for a route not served, a route with no cell (but the
    ``public`` ones and the ``uncalled`` ones, such as a stream that never ends) or a cell for a
    route without a row. Routes are ``"METHOD /path"``; a row may add ``?query`` to a path."""
    served, rows = openapi_routes(app), {route.split("?")[0] for route in documented}
    wrong = [f"{r}: served, but no row in the access table" for r in sorted(served - rows)]
    wrong += [f"{r}: in the access table, but not served" for r in sorted(rows - served)]
    wrong += [f"{r}: no cell in the route-by-role test" for r in sorted(documented - public - (uncalled or set())
                                                                        - set(cells))]
    wrong += [f"{r}: a cell, but no row in the access table" for r in sorted(set(cells) - documented)]
    return wrong


async def answers_by_role(
    app: FastAPI, client: httpx.AsyncClient, cells: Mapping[str, MakeCell], staff: Mapping[Role, Principal],
    allowed: Callable[[str, Role], bool],
) -> list[str]:
    """Every cell without a token (401) and as every member of ``staff`` (the cell's success status
    where ``allowed(route, role)``, 403 elsewhere); the wrong answers, described."""
    wrong = []
    for route, make in cells.items():
        method = route.split()[0]
        anonymous = await send(app, client, None, method, await make())
        if anonymous.status_code != 401:
            wrong.append(f"{route} without a token: {anonymous.status_code}, expected 401")
        for role, who in staff.items():
            cell = await make()  # fresh entities: no cell decides another's answer
            want = cell.success if allowed(route, role) else 403
            response = await send(app, client, who, method, cell)
            if response.status_code != want:
                wrong.append(f"{route} as {role.value}: {response.status_code}, expected {want}: "
                             f"{response.text[:200]}")
    return wrong
