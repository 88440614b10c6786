"""HTTP routes of the inspections service: translate requests into use cases, nothing more."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from services.inspections.application import commands as c
from services.inspections.application import groups, inspections, rectifications, views
from services.inspections.application.deps import InspectionsDeps
from services.inspections.entrypoints import schemas as s
from shared.auth import CurrentPrincipal
from shared.http.commands import execute
from shared.http.deps import ReadConnection, service_deps

router = APIRouter()

Deps = Annotated[InspectionsDeps, Depends(service_deps(InspectionsDeps))]


# --- groups -----------------------------------------------------------------------------------------

@router.post("/groups", status_code=201, tags=["groups"], summary="Form an inspection group (督导组)")
async def form_group(body: c.FormGroup, request: Request, who: CurrentPrincipal, deps: Deps) -> s.GroupWritten:
    return s.GroupWritten.model_validate(await execute(request, lambda uow: groups.form_group(uow, deps, who, body)))


@router.get("/groups", tags=["groups"])
async def list_groups(_who: CurrentPrincipal, conn: ReadConnection) -> list[s.Group]:
    return [s.Group.model_validate(g) for g in await views.list_groups(conn)]


@router.get("/groups/{group_id}", tags=["groups"])
async def get_group(group_id: str, _who: CurrentPrincipal, conn: ReadConnection) -> s.Group:
    return s.Group.model_validate(await views.get_group(conn, group_id))


@router.put("/groups/{group_id}/membership", tags=["groups"], summary="Replace leader and members")
async def change_membership(
    group_id: str, body: c.ChangeMembership, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.GroupWritten:
    return s.GroupWritten.model_validate(
        await execute(request, lambda uow: groups.change_membership(uow, deps, who, group_id, body)))


@router.put("/groups/{group_id}/coverage", tags=["groups"], summary="Replace the townships and units covered")
async def change_coverage(
    group_id: str, body: c.ChangeCoverage, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.GroupWritten:
    return s.GroupWritten.model_validate(
        await execute(request, lambda uow: groups.change_coverage(uow, deps, who, group_id, body)))


# --- inspections ------------------------------------------------------------------------------------

@router.post("/inspections", status_code=201, tags=["inspections"], summary="Schedule an inspection")
async def schedule(
    body: c.ScheduleInspection, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.InspectionWritten:
    return s.InspectionWritten.model_validate(
        await execute(request, lambda uow: inspections.schedule(uow, deps, who, body)))


@router.get("/inspections", tags=["inspections"])
async def list_inspections(
    _who: CurrentPrincipal, conn: ReadConnection, group_id: str | None = None,
    status: s.InspectionStatus | None = None,
    township_code: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
) -> list[s.Inspection]:
    found = await views.list_inspections(conn, group_id=group_id, status=status, township_code=township_code)
    return [s.Inspection.model_validate(i) for i in found]


# An item without a result has no ``note``/``evidence`` keys (rather than nulls): exclude_unset keeps that shape.
@router.get("/inspections/{inspection_id}", tags=["inspections"], response_model_exclude_unset=True,
            summary="An inspection with its items, results, focus checks and findings")
async def get_inspection(inspection_id: str, _who: CurrentPrincipal, deps: Deps, conn: ReadConnection
                         ) -> s.InspectionDetail:
    return s.InspectionDetail.model_validate(await views.get_inspection(conn, deps, inspection_id))


@router.post("/inspections/{inspection_id}/start", tags=["inspections"], summary="The group arrives")
async def start(
    inspection_id: str, body: c.StartInspection, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.InspectionWritten:
    return s.InspectionWritten.model_validate(
        await execute(request, lambda uow: inspections.start(uow, deps, who, inspection_id, body)))


@router.put("/inspections/{inspection_id}/items/{item_id}", tags=["inspections"],
            summary="Record (or correct) one template item's result")
async def record_item(
    inspection_id: str, item_id: str, body: c.RecordItem, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.InspectionWritten:
    return s.InspectionWritten.model_validate(await execute(request, lambda uow: inspections.record_item(
        uow, deps, who, inspection_id, item_id, body)))


# Without a township there is no ``year`` key (rather than a null): exclude_unset keeps that shape.
@router.get("/inspections/{inspection_id}/focus-persons", tags=["inspections"], response_model_exclude_unset=True,
            summary="Severe and hardship persons of the township (opaque ids) a focus check may concern")
async def focus_persons(inspection_id: str, _who: CurrentPrincipal, deps: Deps, conn: ReadConnection
                        ) -> s.FocusPersons:
    return s.FocusPersons.model_validate(await views.focus_persons(conn, deps, inspection_id))


@router.put("/inspections/{inspection_id}/focus-checks/{person_id}", tags=["inspections"],
            summary="Record (or correct) the focus check of one person")
async def record_focus_check(
    inspection_id: str, person_id: str, body: c.RecordFocusCheck, request: Request, who: CurrentPrincipal,
    deps: Deps,
) -> s.InspectionWritten:
    return s.InspectionWritten.model_validate(await execute(request, lambda uow: inspections.record_focus_check(
        uow, deps, who, inspection_id, person_id, body)))


@router.post("/inspections/{inspection_id}/findings", status_code=201, tags=["inspections"],
             summary="Raise a finding from a failed item or a focus check with a \"no\"")
async def raise_finding(
    inspection_id: str, body: c.RaiseFinding, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.FindingRaised:
    return s.FindingRaised.model_validate(await execute(request, lambda uow: inspections.raise_finding(
        uow, deps, who, inspection_id, body)))


@router.post("/inspections/{inspection_id}/completion", tags=["inspections"], summary="Complete, with the score")
async def complete(
    inspection_id: str, body: c.CompleteInspection, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.InspectionWritten:
    return s.InspectionWritten.model_validate(
        await execute(request, lambda uow: inspections.complete(uow, deps, who, inspection_id, body)))


@router.post("/inspections/{inspection_id}/cancellation", tags=["inspections"])
async def cancel(
    inspection_id: str, body: c.CancelInspection, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.InspectionWritten:
    return s.InspectionWritten.model_validate(
        await execute(request, lambda uow: inspections.cancel(uow, deps, who, inspection_id, body)))


@router.post("/inspections/{inspection_id}/findings/{finding_id}/rectification", status_code=201,
             tags=["rectifications"], summary="Enter a finding into the rectification ledger (整改台账)")
async def assign(
    inspection_id: str, finding_id: str, body: c.AssignRectification, request: Request, who: CurrentPrincipal,
    deps: Deps,
) -> s.RectificationWritten:
    return s.RectificationWritten.model_validate(await execute(request, lambda uow: rectifications.assign(
        uow, deps, who, inspection_id, finding_id, body)))


# --- the rectification ledger -----------------------------------------------------------------------

@router.get("/rectifications", tags=["rectifications"], summary="Ledger entries (overdue as of today)")
async def list_rectifications(
    _who: CurrentPrincipal, deps: Deps, conn: ReadConnection, responsible_unit: str | None = None,
    group_id: str | None = None, status: s.RectificationStatus | None = None, number: str | None = None,
) -> list[s.Rectification]:
    found = await views.list_rectifications(conn, deps, responsible_unit=responsible_unit, group_id=group_id,
                                            status=status, number=number)
    return [s.Rectification.model_validate(r) for r in found]


@router.get("/rectifications/{rectification_id}", tags=["rectifications"], summary="One entry with its history")
async def get_rectification(
    rectification_id: str, _who: CurrentPrincipal, deps: Deps, conn: ReadConnection
) -> s.RectificationDetail:
    return s.RectificationDetail.model_validate(await views.get_rectification(conn, deps, rectification_id))


@router.post("/rectifications/{rectification_id}/report", tags=["rectifications"],
             summary="The responsible unit reports it rectified, with evidence")
async def report(
    rectification_id: str, body: c.ReportRectification, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.RectificationWritten:
    return s.RectificationWritten.model_validate(
        await execute(request, lambda uow: rectifications.report(uow, deps, who, rectification_id, body)))


@router.post("/rectifications/{rectification_id}/verification", tags=["rectifications"],
             summary="An inspector re-checks and closes it (复查销号), with evidence")
async def verify(
    rectification_id: str, body: c.VerifyRectification, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.RectificationWritten:
    return s.RectificationWritten.model_validate(
        await execute(request, lambda uow: rectifications.verify(uow, deps, who, rectification_id, body)))


@router.post("/rectifications/{rectification_id}/reopening", tags=["rectifications"],
             summary="An inspector sends it back, with the reason")
async def reopen(
    rectification_id: str, body: c.ReopenRectification, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.RectificationWritten:
    return s.RectificationWritten.model_validate(
        await execute(request, lambda uow: rectifications.reopen(uow, deps, who, rectification_id, body)))


@router.post("/rectifications/{rectification_id}/deadline-extension", tags=["rectifications"],
             summary="Move the deadline later, with the reason")
async def extend_deadline(
    rectification_id: str, body: c.ExtendDeadline, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.RectificationWritten:
    return s.RectificationWritten.model_validate(await execute(request, lambda uow: rectifications.extend_deadline(
        uow, deps, who, rectification_id, body)))


# --- what this service has learned from other services' events ---------------------------------------

@router.get("/templates", tags=["learned facts"], summary="Template versions learned from the checklists services")
async def list_templates(_who: CurrentPrincipal, conn: ReadConnection) -> list[s.KnownTemplate]:
    return [s.KnownTemplate.model_validate(t) for t in await views.templates(conn)]


@router.get("/templates/{template_id}/versions/{version}", tags=["learned facts"])
async def get_template(
    template_id: str, version: Annotated[int, Path(ge=1)], _who: CurrentPrincipal, conn: ReadConnection
) -> s.KnownTemplate:
    return s.KnownTemplate.model_validate(await views.template(conn, template_id, version))


@router.get("/directory/{what}", tags=["learned facts"],
            summary="Staff, departments or townships learned from the registry's events")
async def directory(
    what: Literal["staff", "departments", "townships"], _who: CurrentPrincipal, conn: ReadConnection
) -> list[s.KnownStaff] | list[s.KnownDepartment] | list[s.KnownTownship]:
    rows = await views.directory(conn, what)
    if what == "staff":
        return [s.KnownStaff.model_validate(m) for m in rows]
    if what == "departments":
        return [s.KnownDepartment.model_validate(d) for d in rows]
    return [s.KnownTownship.model_validate(t) for t in rows]
