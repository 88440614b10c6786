"""HTTP routes of the registry: translate requests into use cases, nothing more."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.registry.application import commands as c
from services.registry.application import organisation, persons, plans, views
from services.registry.application.deps import RegistryDeps
from services.registry.entrypoints import schemas as s
from shared.auth import CurrentPrincipal
from shared.errors import Forbidden, NotFound
from shared.http.commands import execute
from shared.http.deps import ReadConnection, service_deps

router = APIRouter()

Deps = Annotated[RegistryDeps, Depends(service_deps(RegistryDeps))]


class TokenRequest(BaseModel):
    staff_id: str


@router.post("/auth/dev-token", tags=["auth"], summary="Issue a token for a staff member (development only)")
async def dev_token(body: TokenRequest, request: Request, conn: ReadConnection) -> s.DevToken:
    if not request.app.state.dev_tokens:
        raise Forbidden("development tokens are disabled; use `python -m services.registry token`")
    principal = await organisation.staff_principal(conn, body.staff_id)
    if principal is None:
        raise NotFound(f"no active staff {body.staff_id}")
    # Development only: long enough for a demo, so the dashboards need no refresh.
    token = request.app.state.tokens.issue(principal, ttl=request.app.state.dev_token_ttl)
    return s.DevToken(access_token=token, token_type="bearer",
                      roles=sorted(principal.roles), department=principal.department)


@router.post("/org-units", status_code=201, tags=["organisation"])
async def establish_org_unit(
    body: c.EstablishOrgUnit, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.OrgUnitWritten:
    return s.OrgUnitWritten.model_validate(await execute(
        request, lambda uow: organisation.establish_org_unit(uow, deps, who, body), buffered=True))


@router.get("/org-units", tags=["organisation"])
async def list_org_units(
    _who: CurrentPrincipal, conn: ReadConnection, parent_code: str | None = None
) -> list[s.OrgUnit]:
    return [s.OrgUnit.model_validate(u) for u in await views.list_org_units(conn, parent_code)]


@router.post("/departments", status_code=201, tags=["organisation"])
async def register_department(
    body: c.RegisterDepartment, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.OrgUnitWritten:
    return s.OrgUnitWritten.model_validate(await execute(
        request, lambda uow: organisation.register_department(uow, deps, who, body), buffered=True))


@router.get("/departments", tags=["organisation"])
async def list_departments(_who: CurrentPrincipal, conn: ReadConnection) -> list[s.Department]:
    return [s.Department.model_validate(d) for d in await views.list_departments(conn)]


@router.post("/staff", status_code=201, tags=["organisation"])
async def enrol_staff(body: c.EnrolStaff, request: Request, who: CurrentPrincipal, deps: Deps) -> s.StaffWritten:
    return s.StaffWritten.model_validate(await execute(
        request, lambda uow: organisation.enrol_staff(uow, deps, who, body), buffered=True))


@router.get("/staff", tags=["organisation"])
async def list_staff(_who: CurrentPrincipal, conn: ReadConnection) -> list[s.Staff]:
    return [s.Staff.model_validate(m) for m in await views.list_staff(conn)]


@router.post("/persons", status_code=201, tags=["persons"], summary="Register a person with a disability")
async def register_person(
    body: c.RegisterPerson, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.register_person(uow, deps, who, body), buffered=True))


@router.get("/persons", tags=["persons"], summary="List or find persons (personal data masked by role)")
async def list_persons(
    who: CurrentPrincipal,
    deps: Deps,
    conn: ReadConnection,
    township_code: str | None = None,
    village_code: str | None = None,
    certificate_number: str | None = Query(default=None, description="Find by certificate number (keyed hash)"),
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[s.Person]:
    found = await views.list_persons(
        conn, deps, who, township_code=township_code, village_code=village_code,
        certificate_number=certificate_number, active=active, limit=limit, offset=offset,
    )
    return [s.Person.model_validate(p) for p in found]


@router.get("/persons/{person_id}", tags=["persons"])
async def get_person(person_id: str, who: CurrentPrincipal, deps: Deps, conn: ReadConnection) -> s.Person:
    return s.Person.model_validate(await views.get_person(conn, deps, who, person_id))


@router.post("/persons/{person_id}/corrections", tags=["persons"])
async def correct_person(
    person_id: str, body: c.CorrectPerson, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.correct_person(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/relocation", tags=["persons"])
async def relocate_person(
    person_id: str, body: c.RelocatePerson, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.relocate_person(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/reassessment", tags=["persons"])
async def reassess_person(
    person_id: str, body: c.ReassessPerson, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.reassess_person(uow, deps, who, person_id, body), buffered=True))


@router.put("/persons/{person_id}/hardship", tags=["persons"])
async def set_hardship(
    person_id: str, body: c.SetHardship, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.set_hardship(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/deregistration", tags=["persons"])
async def deregister(
    person_id: str, body: c.DeregisterPerson, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.deregister_person(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/erasure", tags=["persons"], summary="Erase personal data (crypto-shredding)")
async def erase(
    person_id: str, body: c.VersionedCommand, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.erase_person(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/visits", status_code=201, tags=["visits"], summary="Record the annual home visit")
async def record_visit(
    person_id: str, body: c.RecordVisit, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PersonWritten:
    return s.PersonWritten.model_validate(await execute(
        request, lambda uow: persons.record_visit(uow, deps, who, person_id, body), buffered=True))


@router.post("/persons/{person_id}/plans/{year}", status_code=201, tags=["plans"], summary="Draw up the year's plan")
async def draw_plan(person_id: str, year: int, request: Request, who: CurrentPrincipal, deps: Deps) -> s.PlanWritten:
    return s.PlanWritten.model_validate(await execute(
        request, lambda uow: plans.draw_plan(uow, deps, who, person_id, year), buffered=True))


@router.get("/persons/{person_id}/plans/{year}", tags=["plans"])
async def get_plan(person_id: str, year: int, _who: CurrentPrincipal, deps: Deps, conn: ReadConnection) -> s.Plan:
    return s.Plan.model_validate(await views.get_plan(conn, deps, person_id, year))


@router.post("/persons/{person_id}/plans/{year}/items", status_code=201, tags=["plans"])
async def add_item(
    person_id: str, year: int, body: c.AddPlanItem, request: Request, who: CurrentPrincipal, deps: Deps
) -> s.PlanItemAdded:
    return s.PlanItemAdded.model_validate(await execute(
        request, lambda uow: plans.add_item(uow, deps, who, person_id, year, body), buffered=True))


@router.post("/persons/{person_id}/plans/{year}/items/{item_id}/delivery", tags=["plans"])
async def deliver_item(
    person_id: str, year: int, item_id: str, body: c.DeliverPlanItem, request: Request, who: CurrentPrincipal,
    deps: Deps,
) -> s.PlanWritten:
    return s.PlanWritten.model_validate(await execute(
        request, lambda uow: plans.deliver_item(uow, deps, who, person_id, year, item_id, body), buffered=True))


@router.post("/persons/{person_id}/plans/{year}/items/{item_id}/cancellation", tags=["plans"])
async def cancel_item(
    person_id: str, year: int, item_id: str, body: c.CancelPlanItem, request: Request, who: CurrentPrincipal,
    deps: Deps,
) -> s.PlanWritten:
    return s.PlanWritten.model_validate(await execute(
        request, lambda uow: plans.cancel_item(uow, deps, who, person_id, year, item_id, body), buffered=True))
