"""FastAPI dependencies every service's routes share, as ``Annotated`` aliases.

A route names what it needs in its signature (``runtime: Runtime``, ``conn: ReadConnection``,
``deps: Deps`` with the service's own alias built on :func:`service_deps`) instead of digging it out of
``request.app.state`` itself; ``bootstrap.py`` puts the runtime and the use cases' dependencies there.

Every dependency here is ``async def`` although none awaits: FastAPI runs a plain ``def``
dependency in its thread pool, a thread hand-off per request (~0.1 ms of CPU on a command route).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime import ServiceRuntime

T = TypeVar("T")


async def get_runtime(request: Request) -> ServiceRuntime:
    """The service's :class:`ServiceRuntime` (set by :func:`shared.http.app.create_app`)."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]
"""The service's runtime: engine, executor, store, consumers."""


async def read_connection(runtime: Runtime) -> AsyncIterator[AsyncConnection]:
    """A read-only connection for one request (readers never queue behind the single writer)."""
    async with runtime.engine.connect() as conn:
        yield conn


ReadConnection = Annotated[AsyncConnection, Depends(read_connection)]
"""A database connection for the read side of one request, closed when the request ends."""


def service_deps(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency returning the use cases' dependencies of one service (``app.state.deps``).

    Each service declares its alias once, e.g.
    ``Deps = Annotated[RegistryDeps, Depends(service_deps(RegistryDeps))]``, so that routes get the
    service's own type; the check turns a wiring mistake in ``bootstrap.py`` into a clear error.
    """

    async def dependency(request: Request) -> T:
        deps = request.app.state.deps
        if not isinstance(deps, kind):
            raise TypeError(f"app.state.deps is a {type(deps).__name__}, not a {kind.__name__}")
        return deps

    return dependency
