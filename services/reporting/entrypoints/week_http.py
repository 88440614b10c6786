"""The officer's week (本周工作): its JSON view and the service worker that keeps the page offline.

- ``GET /views/week?unit=&year=&today=&limit=&<section>_offset=``: the five lists of
  :mod:`services.reporting.queries.week` for a township or village (default: the officer's
  township), each paged on its own, served from the hub's cache like the other views. A township
  officer may ask for their township and its villages only (403 otherwise); a federation admin
  for any; other roles are refused.
- ``GET /sw.js``: the page's service worker, served at the root so that its scope covers both the
  page (``/dash/week``) and its view (``/views/week``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.reporting.access import WEEK as WEEK_ACCESS
from services.reporting.entrypoints.pages import WEB, Limit, Offset, Today, Year, _cached
from services.reporting.live import CLOCK
from services.reporting.projections.certificates import CERTIFICATES
from services.reporting.projections.coverage import COVERAGE
from services.reporting.projections.plan_items import PLAN_ITEMS
from services.reporting.projections.rectifications import LEDGER, LEDGER_UNITS
from services.reporting.projections.week import WEEK
from services.reporting.queries.week import Section, find_unit, require_unit, week
from shared.auth import CurrentPrincipal
from shared.errors import InvalidInput
from shared.http.deps import ReadConnection

WEEK_TOPICS = frozenset({WEEK.name, COVERAGE.name, PLAN_ITEMS.name, CERTIFICATES.name, LEDGER.name,
                         LEDGER_UNITS.name, CLOCK})

week_router = APIRouter()


@week_router.get("/views/week", tags=["dashboards"],
                 summary="The officer's week: not reached, 失访, plan items, certificates, rectifications (cached)")
async def week_view(
    request: Request, who: CurrentPrincipal, conn: ReadConnection, today: Today = None, year: Year = None,
    unit: Annotated[str | None, Query(pattern=r"^\d{12}$", description="Township or village; default: yours")] = None,
    limit: Limit = 20, not_reached_offset: Offset = 0, lost_offset: Offset = 0, plan_items_offset: Offset = 0,
    certificates_offset: Offset = 0, rectifications_offset: Offset = 0,
) -> Response:
    WEEK_ACCESS.require(who, "reading an officer's week")
    code = unit or who.township_code
    if code is None:
        raise InvalidInput("name the township or village (unit): you have no township of your own", field="unit")
    found = await find_unit(conn, code)
    require_unit(who, found)
    day = today or date.today()
    y = year or day.year
    offsets: dict[Section, int] = {
        "not_reached": not_reached_offset, "lost": lost_offset, "plan_items": plan_items_offset,
        "certificates": certificates_offset, "rectifications": rectifications_offset}
    params: dict[str, object] = {"unit": found.code, "today": day, "year": y, "limit": limit}
    params.update({f"{name}_offset": offset for name, offset in offsets.items()})
    return await _cached(request, "week", params, WEEK_TOPICS,
                         lambda c: week(c, found, today=day, year=y, offsets=offsets, limit=limit))


@week_router.get("/sw.js", include_in_schema=False)
async def service_worker() -> Response:
    # no-cache: the browser checks for a new worker on every visit, so a deployment reaches phones.
    return Response((WEB / "sw.js").read_bytes(), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})
