"""The ``?as_of=`` parameter of the audit views, and the connection to the moment it names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated

from fastapi import Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.as_of import Moment, Moments
from services.reporting.read_models import PROJECTIONS, SCHEMA
from shared.runtime import ServiceRuntime

AsOf = Annotated[datetime | None, Query(
    description="Answer from the events that occurred up to this moment (ISO 8601 with a UTC offset), "
                "replayed from the streams; not in the future, not before the first event")]


def moments(request: Request) -> Moments:
    """The app's moment cache, made on first use (reporting's projections, its own key ring)."""
    found: Moments | None = getattr(request.app.state, "moments", None)
    if found is None:
        runtime: ServiceRuntime = request.app.state.runtime
        settings = runtime.settings
        found = Moments(PROJECTIONS.projections, SCHEMA, nats_url=settings.nats_url,
                        namespace=settings.namespace, keyring=settings.load_keyring())
        request.app.state.moments = found
    return found


@asynccontextmanager
async def moment_connection(request: Request, as_of: datetime) -> AsyncIterator[tuple[Moment, AsyncConnection]]:
    """A connection to the read models as of ``as_of`` (replayed, or from the cache)."""
    moment = await moments(request).get(as_of)
    async with moment.engine.connect() as conn:
        yield moment, conn


def local_day(moment: datetime) -> date:
    """The server's local date at ``moment``: what ``date.today()`` said then, for overdue and years."""
    return moment.astimezone().date()
