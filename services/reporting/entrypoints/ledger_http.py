"""The rectification ledger and inspection views: JSON, and the ledger as .xlsx and CSV.

Every view that depends on the day takes ``?today=YYYY-MM-DD`` (default: the real date), so that a
ledger can be printed as of a day, and tests move the clock without waiting.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.reporting.entrypoints import schemas as s
from services.reporting.entrypoints.moments import AsOf, local_day, moment_connection
from services.reporting.queries import inspection_results as inspection_views
from services.reporting.queries import rectifications as ledger_views
from services.reporting.queries.ledger_export import ledger_csv, ledger_workbook
from shared.auth import CurrentPrincipal
from shared.http.bounds import DayBounds
from shared.http.deps import ReadConnection, Runtime

ledger_router = APIRouter()

Today = Annotated[date | None, Query(description="Compute overdue as of this day (default: today)"), DayBounds]
Status = Literal["assigned", "reported", "reopened", "closed"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filter(status: Status | None, unit: str | None, township: str | None, group: str | None,
            overdue: bool | None) -> ledger_views.LedgerFilter:
    return ledger_views.LedgerFilter(status=status, unit=unit, township=township, group=group, overdue=overdue)


def _download(body: bytes, media_type: str, day: date, extension: str) -> Response:
    filename = f"整改台账-{day.isoformat()}.{extension}"
    ascii_name = f"rectification-ledger-{day.isoformat()}.{extension}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})


@ledger_router.get("/rectifications", tags=["rectification ledger"],
                   summary="The rectification ledger (整改台账): every entry with its history")
async def get_ledger(
    request: Request, _who: CurrentPrincipal, runtime: Runtime, conn: ReadConnection, today: Today = None,
    status: Status | None = None,
    unit: Annotated[str | None, Query(description="Responsible unit (department code)")] = None,
    township: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    group: Annotated[str | None, Query(description="Inspection group id")] = None,
    overdue: Annotated[bool | None, Query(description="Only overdue (true) or only not overdue (false)")] = None,
    as_of: AsOf = None,
) -> s.Ledger:
    which = _filter(status, unit, township, group, overdue)
    if as_of is not None:  # overdue judged on the day of the moment unless ``today`` says otherwise
        day = today or local_day(as_of)
        async with moment_connection(request, as_of) as (moment, past):
            entries = await ledger_views.ledger(past, day, which)
        return s.Ledger(today=day, count=len(entries), entries=[s.LedgerEntry.model_validate(e) for e in entries],
                        positions=moment.positions)
    day = today or date.today()
    entries = await ledger_views.ledger(conn, day, which)
    return s.Ledger(today=day, count=len(entries), entries=[s.LedgerEntry.model_validate(e) for e in entries],
                    positions={c.name: c.position for c in runtime.consumers})


@ledger_router.get("/rectifications/overdue", tags=["rectification ledger"],
                   summary="Open and overdue rectifications by responsible unit and by township")
async def get_overdue(_who: CurrentPrincipal, conn: ReadConnection, today: Today = None) -> s.Overdue:
    return s.Overdue.model_validate(await ledger_views.overdue(conn, today or date.today()))


@ledger_router.get("/rectifications/ledger.{extension}", tags=["rectification ledger"], response_class=Response,
                   summary="The ledger as a spreadsheet laid out for printing (.xlsx), or as CSV (UTF-8 with BOM)")
async def get_ledger_file(
    extension: Literal["xlsx", "csv"], _who: CurrentPrincipal, conn: ReadConnection, today: Today = None,
    status: Status | None = None, unit: str | None = None,
    township: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None, group: str | None = None,
    overdue: bool | None = None,
) -> Response:
    day = today or date.today()
    entries = await ledger_views.ledger(conn, day, _filter(status, unit, township, group, overdue))
    if extension == "xlsx":
        return _download(ledger_workbook(entries, today=day), XLSX, day, extension)
    return _download(ledger_csv(entries), "text/csv; charset=utf-8", day, extension)


@ledger_router.get("/rectifications/{rectification_id}", tags=["rectification ledger"],
                   summary="One ledger entry with its history")
async def get_entry(rectification_id: str, _who: CurrentPrincipal, conn: ReadConnection,
                    today: Today = None) -> s.LedgerEntry:
    return s.LedgerEntry.model_validate(await ledger_views.entry(conn, today or date.today(), rectification_id))


@ledger_router.get("/inspections/scores", tags=["inspections"],
                   summary="Inspection scores by township and by template item, over time")
async def get_scores(
    _who: CurrentPrincipal, conn: ReadConnection, template_id: str | None = None,
    since: date | None = None, until: date | None = None,
) -> s.Scores:
    return s.Scores.model_validate({
        "townships": await inspection_views.township_scores(conn, template_id=template_id, since=since, until=until),
        "items": await inspection_views.item_scores(conn, template_id=template_id, since=since, until=until),
    })


@ledger_router.get("/inspections/open-findings", tags=["inspections"],
                   summary="Findings not yet closed, per inspection group")
async def get_open_findings(_who: CurrentPrincipal, conn: ReadConnection, today: Today = None) -> s.OpenFindings:
    day = today or date.today()
    return s.OpenFindings.model_validate({"today": day, "groups": await inspection_views.open_findings(conn, day)})
