"""JSON views of the reporting read models."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from services.reporting.queries.coverage import coverage
from shared.auth import CurrentPrincipal
from shared.runtime import ServiceRuntime

router = APIRouter()


@router.get("/coverage", tags=["coverage"], summary="Coverage (覆盖率) for a year, by org unit")
async def get_coverage(
    request: Request,
    _who: CurrentPrincipal,
    year: Annotated[int, Query(ge=2000, le=2100)],
    unit: Annotated[str | None, Query(pattern=r"^\d{12}$", description="Org unit code; default the district")] = None,
    depth: Annotated[int, Query(ge=0, le=3, description="Levels of children to include")] = 1,
) -> dict[str, Any]:
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.engine.connect() as conn:
        body = await coverage(conn, year, unit, depth)
    body["positions"] = {c.name: c.position for c in runtime.consumers}
    return body
