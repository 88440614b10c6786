"""The dashboards: HTML pages, their cached JSON views, and the live stream that tells pages to refresh.

- ``GET /dash/<page>``: a page (coverage, overdue, scores, ledger, highlights, history, week). Pages are
  static: they sign in with a bearer token kept in the browser's session storage and call the views.
- ``GET /views/...``: the JSON each page shows, served from the hub's cache (one computation per
  change, however many pages show it). Lists that grow with the register (work list, persons to
  follow up, ledger) are paged here (``offset``, ``limit``) and say how many there are in all.
  The ``X-Live-Topics`` header names the read models a view depends on; the page refetches when
  ``/live`` announces one of them.
- ``GET /live``: server-sent events. ``change`` names the topics that changed (coalesced), ``: ping``
  every 15 s keeps proxies and the page's watchdog quiet.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.access import HISTORY
from services.reporting.entrypoints.moments import AsOf, local_day, moment_connection
from services.reporting.live import CLOCK, LiveHub
from services.reporting.projections.audit import AUDIT
from services.reporting.projections.coverage import COVERAGE
from services.reporting.projections.highlights import HIGHLIGHTS
from services.reporting.projections.inspection_results import INSPECTIONS
from services.reporting.projections.plan_items import PLAN_ITEMS
from services.reporting.projections.rectifications import LEDGER, LEDGER_UNITS
from services.reporting.projections.rehabilitation import REHABILITATION
from services.reporting.projections.tasks import TASKS
from services.reporting.queries import rectifications as ledger_views
from services.reporting.queries.audit import history
from services.reporting.queries.coverage import coverage
from services.reporting.queries.coverage_persons import Missing, persons_to_follow_up
from services.reporting.queries.rehabilitation import rehabilitation
from services.reporting.queries.scoreboards import scoreboards
from services.reporting.queries.tasks import highlights_wall
from services.reporting.queries.worklist import WorkFilter, worklist
from shared.auth import CurrentPrincipal
from shared.errors import NotFound
from shared.http.bounds import DayBounds
from shared.runtime import ServiceRuntime

WEB = Path(__file__).resolve().parent.parent / "web"
PAGES = ("coverage", "overdue", "scores", "ledger", "highlights", "history", "week")
HEARTBEAT = 15.0
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".svg": "image/svg+xml", ".html": "text/html; charset=utf-8", ".ico": "image/x-icon"}

COVERAGE_TOPICS = frozenset({COVERAGE.name})
REHABILITATION_TOPICS = frozenset({REHABILITATION.name})
WORK_TOPICS = frozenset({TASKS.name, PLAN_ITEMS.name, LEDGER.name, LEDGER_UNITS.name, CLOCK})
LEDGER_TOPICS = frozenset({LEDGER.name, LEDGER_UNITS.name, CLOCK})
SCORE_TOPICS = frozenset({TASKS.name, PLAN_ITEMS.name, LEDGER.name, LEDGER_UNITS.name, COVERAGE.name,
                          INSPECTIONS.name, CLOCK})
HIGHLIGHT_TOPICS = frozenset({HIGHLIGHTS.name})
AUDIT_TOPICS = frozenset(p.name for p in AUDIT)

router = APIRouter()
Today = Annotated[date | None, Query(description="Judge overdue as of this day (default: today)"), DayBounds]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="Default: this year")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip (paging); `total` counts them all")]
Limit = Annotated[int, Query(ge=1, le=500, description="Rows per page")]
PAGE_SIZE = 50


def _hub(request: Request) -> LiveHub:
    hub: LiveHub = request.app.state.live
    return hub


# what json.dumps would do: dates, times and dataclasses through ``default``; int and None keys written
_ORJSON_AS_JSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def _json(body: Any) -> bytes:
    """``json.dumps(body, ensure_ascii=False, default=str)`` as UTF-8, but compact and by orjson: the
    same values (dates and times still through ``str``), at a fraction of the CPU a page of entries
    cost; json itself for what orjson refuses (an integer beyond 64 bits, say)."""
    try:
        return orjson.dumps(body, default=str, option=_ORJSON_AS_JSON)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(body, ensure_ascii=False, default=str).encode()


async def _cached(request: Request, view: str, params: dict[str, Any], topics: frozenset[str],
                  query: Callable[[AsyncConnection], Awaitable[Any]]) -> Response:
    runtime: ServiceRuntime = request.app.state.runtime

    async def compute() -> bytes:
        async with runtime.engine.connect() as conn:
            body = await query(conn)
        return _json(body)

    hub = _hub(request)
    body = await hub.cache.get(hub.cache.key(view, params), topics, compute)
    return Response(body, media_type="application/json",
                    headers={"X-Live-Topics": ",".join(sorted(topics)), "Cache-Control": "no-store"})


# --- views --------------------------------------------------------------------------------------


@router.get("/views/coverage", tags=["dashboards"], summary="Coverage of a unit and its children (cached)")
async def coverage_view(
    request: Request, _who: CurrentPrincipal, year: Year = None,
    unit: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None, depth: Annotated[int, Query(ge=0, le=2)] = 1,
) -> Response:
    y = year or date.today().year
    return await _cached(request, "coverage", {"year": y, "unit": unit, "depth": depth}, COVERAGE_TOPICS,
                         lambda conn: coverage(conn, y, unit, depth))


@router.get("/views/rehabilitation", tags=["dashboards"],
            summary="Basic rehabilitation service among persons in need, units below the target (cached)")
async def rehabilitation_view(
    request: Request, _who: CurrentPrincipal, year: Year = None,
    unit: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None, depth: Annotated[int, Query(ge=0, le=2)] = 1,
) -> Response:
    y = year or date.today().year
    return await _cached(request, "rehabilitation", {"year": y, "unit": unit, "depth": depth}, REHABILITATION_TOPICS,
                         lambda conn: rehabilitation(conn, y, unit, depth))


@router.get("/views/coverage/persons", tags=["dashboards"],
            summary="Persons of a unit not yet visited or without a plan (opaque ids; cached)")
async def persons_view(
    request: Request, _who: CurrentPrincipal, year: Year = None,
    unit: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None, missing: Missing = "any",
    severe: bool | None = None, hardship: bool | None = None, offset: Offset = 0, limit: Limit = PAGE_SIZE,
) -> Response:
    y = year or date.today().year
    params = {"year": y, "unit": unit, "missing": missing, "severe": severe, "hardship": hardship,
              "offset": offset, "limit": limit}
    return await _cached(request, "persons", params, COVERAGE_TOPICS,
                         lambda conn: persons_to_follow_up(conn, y, unit, missing, offset=offset, limit=limit,
                                                           severe=severe, hardship=hardship))


@router.get("/views/worklist", tags=["dashboards"], summary="Overdue and due soon: tasks, plan items, rectifications")
async def worklist_view(
    request: Request, _who: CurrentPrincipal, today: Today = None,
    kind: Literal["task", "plan_item", "rectification"] | None = None, department: str | None = None,
    township: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None, assignee: str | None = None,
    window: Literal["overdue", "due_soon", "both"] = "both", offset: Offset = 0, limit: Limit = PAGE_SIZE,
) -> Response:
    day = today or date.today()
    f = WorkFilter(kind=kind, department=department, township=township, assignee=assignee, window=window)
    params = {"today": day, "kind": kind, "department": department, "township": township, "assignee": assignee,
              "window": window, "offset": offset, "limit": limit}
    return await _cached(request, "worklist", params, WORK_TOPICS,
                         lambda conn: worklist(conn, day, f, offset=offset, limit=limit))


@router.get("/views/scoreboards", tags=["dashboards"], summary="Department and township scoreboards with trends")
async def scoreboards_view(request: Request, _who: CurrentPrincipal, year: Year = None,
                           today: Today = None, as_of: AsOf = None) -> Response:
    if as_of is not None:  # not cached as a view: the moment itself is (services/reporting/as_of.py)
        day = today or local_day(as_of)
        async with moment_connection(request, as_of) as (_moment, past):
            board = await scoreboards(past, year or day.year, day)
        return Response(json.dumps(board, ensure_ascii=False, default=str).encode(), media_type="application/json",
                        headers={"Cache-Control": "no-store"})
    day, y = today or date.today(), year or (today or date.today()).year
    return await _cached(request, "scoreboards", {"year": y, "today": day}, SCORE_TOPICS,
                         lambda conn: scoreboards(conn, y, day))


@router.get("/views/ledger", tags=["dashboards"], summary="The rectification ledger (cached)")
async def ledger_view(
    request: Request, _who: CurrentPrincipal, today: Today = None,
    status: Literal["assigned", "reported", "reopened", "closed"] | None = None,
    township: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None, unit: str | None = None,
    overdue: bool | None = None, offset: Offset = 0, limit: Limit = PAGE_SIZE,
) -> Response:
    day = today or date.today()
    which = ledger_views.LedgerFilter(status=status, unit=unit, township=township, overdue=overdue)

    async def query(conn: AsyncConnection) -> dict[str, Any]:
        total, entries = await ledger_views.ledger_page(conn, day, which, offset=offset, limit=limit)
        return {"today": day.isoformat(), "total": total, "offset": offset, "limit": limit,
                "shown": len(entries), "entries": entries, "summary": await ledger_views.overdue_counts(conn, day)}
    params = {"today": day, "status": status, "township": township, "unit": unit, "overdue": overdue,
              "offset": offset, "limit": limit}
    return await _cached(request, "ledger", params, LEDGER_TOPICS, query)


@router.get("/views/highlights", tags=["dashboards"], summary="The highlights wall (cached)")
async def highlights_view(request: Request, _who: CurrentPrincipal) -> Response:
    return await _cached(request, "highlights", {}, HIGHLIGHT_TOPICS,
                         lambda conn: highlights_wall(conn, None, None))


@router.get("/views/history/{entity_id}", tags=["dashboards"],
            summary="Every event naming an entity, across services (audit; cached)")
async def history_view(entity_id: str, request: Request, who: CurrentPrincipal) -> Response:
    HISTORY.require(who, "reading an audit history")
    if not 1 <= len(entity_id) <= 120:
        raise NotFound(f"no entity {entity_id[:120]}")
    return await _cached(request, "history", {"id": entity_id}, AUDIT_TOPICS, lambda conn: history(conn, entity_id))


@router.get("/views/live-stats", tags=["dashboards"], summary="Watchers, cache hits and computations (operators)")
async def live_stats(request: Request, _who: CurrentPrincipal) -> dict[str, Any]:
    hub = _hub(request)
    s = hub.cache.stats
    rebuilds = getattr(request.app.state, "rebuilds", None)
    return {"watchers": hub.watchers, "cached_views": len(hub.cache), "cached_bytes": hub.cache.size,
            "cache_limit_bytes": hub.cache.max_bytes, "computations": s.computations, "hits": s.hits,
            "invalidations": s.invalidations, "evictions": s.evictions, "cache_clears": s.clears,
            "notices": hub.notices, "hears_rebuilds": bool(rebuilds is not None and rebuilds.subscribed)}


# --- live stream --------------------------------------------------------------------------------


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/live", tags=["dashboards"], summary="Server-sent events: which read models changed",
            response_class=StreamingResponse)
async def live(request: Request, _who: CurrentPrincipal,
               topics: Annotated[str | None, Query(description="Comma-separated; default all")] = None) -> Response:
    hub = _hub(request)
    wanted = frozenset(t for t in topics.split(",") if t) if topics else None

    async def stream() -> AsyncIterator[str]:
        subscriber = hub.subscribe(wanted)
        try:
            yield "retry: 2000\n" + _sse("hello", {"today": date.today().isoformat(),
                                                   "time": datetime.now().isoformat(timespec="seconds")})
            while not subscriber.closed:
                changed = await subscriber.next(HEARTBEAT)
                if subscriber.closed:
                    break
                if changed:
                    yield _sse("change", {"topics": sorted(changed), "today": date.today().isoformat()})
                else:
                    yield f": ping {datetime.now().isoformat(timespec='seconds')}\n\n"
        finally:
            hub.unsubscribe(subscriber)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# --- pages --------------------------------------------------------------------------------------


@router.get("/", include_in_schema=False)
async def root() -> RedirectResponse:
    return RedirectResponse("/dash/coverage")


@router.get("/dash", include_in_schema=False)
async def dash() -> RedirectResponse:
    return RedirectResponse("/dash/coverage")


@router.get("/dash/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    path = (WEB / name).resolve()
    if path.parent != WEB or path.suffix not in MEDIA_TYPES or not path.is_file():
        raise NotFound(f"no file {name}")
    return Response(path.read_bytes(), media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


@router.get("/dash/{page}", include_in_schema=False, response_class=HTMLResponse)
async def page(page: str) -> HTMLResponse:
    if page not in PAGES:
        raise NotFound(f"no page {page}; pages: {', '.join(PAGES)}")
    html = (WEB / "index.html").read_text(encoding="utf-8").replace("{{page}}", page)
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})
