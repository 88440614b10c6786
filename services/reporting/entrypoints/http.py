"""JSON views of the reporting read models."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.reporting.entrypoints import schemas as s
from services.reporting.entrypoints.moments import AsOf, moment_connection
from services.reporting.queries.coverage import coverage
from services.reporting.queries.rehabilitation import rehabilitation
from shared.auth import CurrentPrincipal
from shared.http.deps import ReadConnection, Runtime

router = APIRouter()


# Without children asked for (depth 0) a unit has no ``children`` key: exclude_unset keeps that shape.
@router.get("/coverage", tags=["coverage"], summary="Coverage (覆盖率) for a year, by org unit",
            response_model_exclude_unset=True)
async def get_coverage(
    request: Request,
    _who: CurrentPrincipal,
    runtime: Runtime,
    conn: ReadConnection,
    year: Annotated[int, Query(ge=2000, le=2100)],
    unit: Annotated[str | None, Query(pattern=r"^\d{12}$", description="Org unit code; default the district")] = None,
    depth: Annotated[int, Query(ge=0, le=3, description="Levels of children to include")] = 1,
    as_of: AsOf = None,
) -> s.Coverage:
    if as_of is not None:  # replayed from the streams; positions: the last sequence read per stream
        async with moment_connection(request, as_of) as (moment, past):
            body = await coverage(past, year, unit, depth)
        return s.Coverage.model_validate({**body, "positions": moment.positions})
    body = await coverage(conn, year, unit, depth)
    return s.Coverage.model_validate({**body, "positions": {c.name: c.position for c in runtime.consumers}})


@router.get("/rehabilitation", tags=["coverage"], response_model_exclude_unset=True,
            summary="Basic rehabilitation service (基本康复服务) among those in need, by org unit, against the target")
async def get_rehabilitation(
    request: Request,
    _who: CurrentPrincipal,
    runtime: Runtime,
    conn: ReadConnection,
    year: Annotated[int, Query(ge=2000, le=2100)],
    unit: Annotated[str | None, Query(pattern=r"^\d{12}$", description="Org unit code; default the district")] = None,
    depth: Annotated[int, Query(ge=0, le=3, description="Levels of children to include")] = 1,
    as_of: AsOf = None,
) -> s.Rehabilitation:
    if as_of is not None:
        async with moment_connection(request, as_of) as (moment, past):
            body = await rehabilitation(past, year, unit, depth)
        return s.Rehabilitation.model_validate({**body, "positions": moment.positions})
    body = await rehabilitation(conn, year, unit, depth)
    return s.Rehabilitation.model_validate({**body, "positions": {c.name: c.position for c in runtime.consumers}})
