"""HTTP routes of the inspections service: translate requests into use cases, nothing more."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from services.inspections.application import commands as c
from services.inspections.application import groups, inspections, rectifications, views
from services.inspections.application.deps import InspectionsDeps
from shared.auth import CurrentPrincipal
from shared.http.commands import execute
from shared.runtime import ServiceRuntime

router = APIRouter()
RectificationStatus = Literal["assigned", "reported", "reopened", "closed"]
InspectionStatus = Literal["scheduled", "started", "completed", "cancelled"]


def _deps(request: Request) -> InspectionsDeps:
    deps: InspectionsDeps = request.app.state.deps
    return deps


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


# --- groups -----------------------------------------------------------------------------------------

@router.post("/groups", status_code=201, tags=["groups"], summary="Form an inspection group (督导组)")
async def form_group(body: c.FormGroup, request: Request, who: CurrentPrincipal) -> dict[str, Any]:
    return await execute(request, lambda conn: groups.form_group(conn, _deps(request), who, body))


@router.get("/groups", tags=["groups"])
async def list_groups(request: Request, _who: CurrentPrincipal) -> list[dict[str, Any]]:
    async with _runtime(request).engine.connect() as conn:
        return await views.list_groups(conn)


@router.get("/groups/{group_id}", tags=["groups"])
async def get_group(group_id: str, request: Request, _who: CurrentPrincipal) -> dict[str, Any]:
    async with _runtime(request).engine.connect() as conn:
        return await views.get_group(conn, group_id)


@router.put("/groups/{group_id}/membership", tags=["groups"], summary="Replace leader and members")
async def change_membership(group_id: str, body: c.ChangeMembership, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: groups.change_membership(conn, _deps(request), who, group_id, body))


@router.put("/groups/{group_id}/coverage", tags=["groups"], summary="Replace the townships and units covered")
async def change_coverage(group_id: str, body: c.ChangeCoverage, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: groups.change_coverage(conn, _deps(request), who, group_id, body))


# --- inspections ------------------------------------------------------------------------------------

@router.post("/inspections", status_code=201, tags=["inspections"], summary="Schedule an inspection")
async def schedule(body: c.ScheduleInspection, request: Request, who: CurrentPrincipal) -> dict[str, Any]:
    return await execute(request, lambda conn: inspections.schedule(conn, _deps(request), who, body))


@router.get("/inspections", tags=["inspections"])
async def list_inspections(
    request: Request, _who: CurrentPrincipal, group_id: str | None = None, status: InspectionStatus | None = None,
    township_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
) -> list[dict[str, Any]]:
    async with _runtime(request).engine.connect() as conn:
        return await views.list_inspections(conn, group_id=group_id, status=status, township_code=township_code)


@router.get("/inspections/{inspection_id}", tags=["inspections"],
            summary="An inspection with its items, results, focus checks and findings")
async def get_inspection(inspection_id: str, request: Request, _who: CurrentPrincipal) -> dict[str, Any]:
    async with _runtime(request).engine.connect() as conn:
        return await views.get_inspection(conn, _deps(request), inspection_id)


@router.post("/inspections/{inspection_id}/start", tags=["inspections"], summary="The group arrives")
async def start(inspection_id: str, body: c.StartInspection, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: inspections.start(conn, _deps(request), who, inspection_id, body))


@router.put("/inspections/{inspection_id}/items/{item_id}", tags=["inspections"],
            summary="Record (or correct) one template item's result")
async def record_item(
    inspection_id: str, item_id: str, body: c.RecordItem, request: Request, who: CurrentPrincipal
) -> Any:
    return await execute(request, lambda conn: inspections.record_item(
        conn, _deps(request), who, inspection_id, item_id, body))


@router.get("/inspections/{inspection_id}/focus-persons", tags=["inspections"],
            summary="Severe and hardship persons of the township (opaque ids) a focus check may concern")
async def focus_persons(inspection_id: str, request: Request, _who: CurrentPrincipal) -> dict[str, Any]:
    async with _runtime(request).engine.connect() as conn:
        return await views.focus_persons(conn, _deps(request), inspection_id)


@router.put("/inspections/{inspection_id}/focus-checks/{person_id}", tags=["inspections"],
            summary="Record (or correct) the focus check of one person")
async def record_focus_check(
    inspection_id: str, person_id: str, body: c.RecordFocusCheck, request: Request, who: CurrentPrincipal
) -> Any:
    return await execute(request, lambda conn: inspections.record_focus_check(
        conn, _deps(request), who, inspection_id, person_id, body))


@router.post("/inspections/{inspection_id}/findings", status_code=201, tags=["inspections"],
             summary="Raise a finding from a failed item or a focus check with a \"no\"")
async def raise_finding(inspection_id: str, body: c.RaiseFinding, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: inspections.raise_finding(
        conn, _deps(request), who, inspection_id, body))


@router.post("/inspections/{inspection_id}/completion", tags=["inspections"], summary="Complete, with the score")
async def complete(inspection_id: str, body: c.CompleteInspection, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: inspections.complete(conn, _deps(request), who, inspection_id, body))


@router.post("/inspections/{inspection_id}/cancellation", tags=["inspections"])
async def cancel(inspection_id: str, body: c.CancelInspection, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: inspections.cancel(conn, _deps(request), who, inspection_id, body))


@router.post("/inspections/{inspection_id}/findings/{finding_id}/rectification", status_code=201,
             tags=["rectifications"], summary="Enter a finding into the rectification ledger (整改台账)")
async def assign(
    inspection_id: str, finding_id: str, body: c.AssignRectification, request: Request, who: CurrentPrincipal
) -> Any:
    return await execute(request, lambda conn: rectifications.assign(
        conn, _deps(request), who, inspection_id, finding_id, body))


# --- the rectification ledger -----------------------------------------------------------------------

@router.get("/rectifications", tags=["rectifications"], summary="Ledger entries (overdue as of today)")
async def list_rectifications(
    request: Request, _who: CurrentPrincipal, responsible_unit: str | None = None, group_id: str | None = None,
    status: RectificationStatus | None = None, number: str | None = None,
) -> list[dict[str, Any]]:
    async with _runtime(request).engine.connect() as conn:
        return await views.list_rectifications(conn, _deps(request), responsible_unit=responsible_unit,
                                               group_id=group_id, status=status, number=number)


@router.get("/rectifications/{rectification_id}", tags=["rectifications"], summary="One entry with its history")
async def get_rectification(rectification_id: str, request: Request, _who: CurrentPrincipal) -> dict[str, Any]:
    async with _runtime(request).engine.connect() as conn:
        return await views.get_rectification(conn, _deps(request), rectification_id)


@router.post("/rectifications/{rectification_id}/report", tags=["rectifications"],
             summary="The responsible unit reports it rectified, with evidence")
async def report(rectification_id: str, body: c.ReportRectification, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: rectifications.report(conn, _deps(request), who, rectification_id, body))


@router.post("/rectifications/{rectification_id}/verification", tags=["rectifications"],
             summary="An inspector re-checks and closes it (复查销号), with evidence")
async def verify(rectification_id: str, body: c.VerifyRectification, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: rectifications.verify(conn, _deps(request), who, rectification_id, body))


@router.post("/rectifications/{rectification_id}/reopening", tags=["rectifications"],
             summary="An inspector sends it back, with the reason")
async def reopen(rectification_id: str, body: c.ReopenRectification, request: Request, who: CurrentPrincipal) -> Any:
    return await execute(request, lambda conn: rectifications.reopen(conn, _deps(request), who, rectification_id, body))


@router.post("/rectifications/{rectification_id}/deadline-extension", tags=["rectifications"],
             summary="Move the deadline later, with the reason")
async def extend_deadline(
    rectification_id: str, body: c.ExtendDeadline, request: Request, who: CurrentPrincipal
) -> Any:
    return await execute(request, lambda conn: rectifications.extend_deadline(
        conn, _deps(request), who, rectification_id, body))


# --- what this service has learned from other services' events ---------------------------------------

@router.get("/templates", tags=["learned facts"], summary="Template versions learned from the checklists services")
async def list_templates(request: Request, _who: CurrentPrincipal) -> list[dict[str, Any]]:
    async with _runtime(request).engine.connect() as conn:
        return await views.templates(conn)


@router.get("/templates/{template_id}/versions/{version}", tags=["learned facts"])
async def get_template(
    template_id: str, version: Annotated[int, Path(ge=1)], request: Request, _who: CurrentPrincipal
) -> dict[str, Any]:
    async with _runtime(request).engine.connect() as conn:
        return await views.template(conn, template_id, version)


@router.get("/directory/{what}", tags=["learned facts"],
            summary="Staff, departments or townships learned from the registry's events")
async def directory(
    what: Literal["staff", "departments", "townships"], request: Request, _who: CurrentPrincipal
) -> list[dict[str, Any]]:
    async with _runtime(request).engine.connect() as conn:
        return await views.directory(conn, what)
