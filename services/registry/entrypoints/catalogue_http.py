"""HTTP routes of the service catalogue, plan proposals from home visits, and items not delivered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.registry.application import commands as c
from services.registry.application import plans, proposals
from services.registry.application import service_catalogue as uc
from services.registry.application.deps import RegistryDeps
from services.registry.entrypoints import catalogue_schemas as s
from services.registry.entrypoints.schemas import PlanWritten
from shared.auth import CurrentPrincipal
from shared.http.commands import execute
from shared.http.deps import ReadConnection, service_deps

router = APIRouter()

Deps = Annotated[RegistryDeps, Depends(service_deps(RegistryDeps))]


@router.get("/service-catalogue", tags=["service catalogue"], summary="The services offered for each need")
async def list_services(
    _who: CurrentPrincipal, conn: ReadConnection,
    retired: Annotated[bool, Query(description="Include retired entries")] = False,
) -> list[s.CatalogueService]:
    return [s.CatalogueService.model_validate(e) for e in await uc.list_services(conn, retired=retired)]


@router.post("/service-catalogue", status_code=201, tags=["service catalogue"], summary="Add a service")
async def add_service(body: c.AddService, request: Request, who: CurrentPrincipal, deps: Deps) -> s.ServiceWritten:
    return s.ServiceWritten.model_validate(await execute(
        request, lambda uow: uc.add_service(uow, deps, who, body), buffered=True))


@router.post("/service-catalogue/defaults", tags=["service catalogue"],
             summary="Enter the default services not in the catalogue yet")
async def seed_defaults(request: Request, who: CurrentPrincipal, deps: Deps) -> s.CatalogueSeeded:
    return s.CatalogueSeeded.model_validate(await execute(
        request, lambda uow: uc.seed_defaults(uow, deps, who), buffered=True))


@router.put("/service-catalogue/{code}", tags=["service catalogue"], summary="Change a service")
async def change_service(code: str, body: c.ChangeService, request: Request, who: CurrentPrincipal,
                         deps: Deps) -> s.ServiceWritten:
    return s.ServiceWritten.model_validate(await execute(
        request, lambda uow: uc.change_service(uow, deps, who, code, body), buffered=True))


@router.post("/service-catalogue/{code}/retirement", tags=["service catalogue"], summary="Retire a service")
async def retire_service(code: str, body: c.RetireService, request: Request, who: CurrentPrincipal,
                         deps: Deps) -> s.ServiceWritten:
    return s.ServiceWritten.model_validate(await execute(
        request, lambda uow: uc.retire_service(uow, deps, who, code, body), buffered=True))


@router.get("/persons/{person_id}/plans/{year}/proposal", tags=["plans"],
            summary="Plan items proposed from the year's home visit, in the plan's two parts")
async def get_proposal(
    person_id: str, year: int, who: CurrentPrincipal, deps: Deps, conn: ReadConnection,
    visit_id: Annotated[str | None, Query(max_length=80, description="Default: the year's latest reached visit")]
    = None,
) -> s.PlanProposal:
    return s.PlanProposal.model_validate(await proposals.propose(conn, deps, who, person_id, year, visit_id))


@router.post("/persons/{person_id}/plans/{year}/proposal", status_code=201, tags=["plans"],
             summary="Confirm a (possibly edited) proposal: draw the plan if needed and add every item")
async def confirm_proposal(person_id: str, year: int, body: c.ConfirmProposal, request: Request,
                           who: CurrentPrincipal, deps: Deps) -> s.ProposalConfirmed:
    return s.ProposalConfirmed.model_validate(await execute(
        request, lambda uow: proposals.confirm(uow, deps, who, person_id, year, body), buffered=True))


@router.post("/persons/{person_id}/plans/{year}/items/{item_id}/non-delivery", tags=["plans"],
             summary="Close an item without delivery, with a coded reason")
async def record_not_delivered(person_id: str, year: int, item_id: str, body: c.RecordNonDelivery,
                               request: Request, who: CurrentPrincipal, deps: Deps) -> PlanWritten:
    return PlanWritten.model_validate(await execute(
        request, lambda uow: plans.record_not_delivered(uow, deps, who, person_id, year, item_id, body),
        buffered=True))
